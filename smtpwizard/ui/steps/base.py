"""What every step screen shares: header, progress line, scrolling body, error line,
Back/Continue buttons and the footer with every key binding."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, Footer, Header, Input, Static

from smtpwizard.core.display import safe_text

if TYPE_CHECKING:
    from smtpwizard.core.answers import WizardAnswers
    from smtpwizard.ui.app import WizardApp


def warning_lines(warnings: tuple[str, ...]) -> str:
    """A config's warnings (certificate checks off, password unencrypted...), one per line."""
    return "\n".join(f"⚠ {escape(safe_text(w))}" for w in warnings)


# The body scrolls from the keyboard wherever the focus is (a focused field keeps Home/End).
SCROLL_BINDINGS = [
    Binding("pagedown", "scroll_body('page_down')", "Page down", show=False),
    Binding("pageup", "scroll_body('page_up')", "Page up", show=False),
    Binding("end", "scroll_body('end')", "End", show=False),
    Binding("home", "scroll_body('home')", "Home", show=False),
]


def scroll_body(screen: Screen[None], how: str) -> None:
    body = screen.query_one("#body", VerticalScroll)
    {"page_down": body.scroll_page_down, "page_up": body.scroll_page_up, "end": body.scroll_end}.get(
        how, body.scroll_home
    )(animate=False)


def bring_into_view(widget: Widget, *, top: bool = False) -> None:
    """Scroll ``widget`` into view once its new content is laid out: after the next refresh and
    once more after the one that follows. A widget whose text has just changed can be laid out
    only in that second refresh; on a loaded machine a single scroll used its old place."""

    def scroll() -> None:
        widget.scroll_visible(top=top, animate=False)
        widget.call_after_refresh(widget.scroll_visible, top=top, animate=False)

    widget.call_after_refresh(scroll)


class StepScreen(Screen[None]):
    STEP: ClassVar[str] = ""
    TITLE: ClassVar[str] = ""
    SHORT: ClassVar[str] = ""  # the name in the progress trail
    INTRO: ClassVar[str] = ""
    HELP: ClassVar[str] = ""
    NEXT_LABEL: ClassVar[str] = "Continue"

    BINDINGS: ClassVar[list[Binding]] = [  # type: ignore[assignment]
        Binding("escape", "back", "Back"),
        Binding("enter", "next", "Continue"),
        Binding("f1", "help", "Help"),
        Binding("question_mark", "help", "Help", show=False),
        *SCROLL_BINDINGS,
    ]

    @property
    def wizard(self) -> WizardApp:
        from smtpwizard.ui.app import WizardApp

        return cast(WizardApp, self.app)

    @property
    def answers(self) -> WizardAnswers:
        return self.wizard.answers

    def compose(self) -> ComposeResult:
        yield Header(icon="@")
        yield self.wizard.breadcrumb(self.STEP)
        with VerticalScroll(id="body"):
            if self.INTRO:
                yield Static(self.INTRO, classes="intro")
            yield from self.compose_body()
            yield Static("", id="error")
        with Horizontal(id="nav"):
            yield Button("Back", id="back", compact=True)
            yield Button(self.NEXT_LABEL, id="next", variant="primary", compact=True)
        yield Footer()

    def compose_body(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        # Textual also runs each subclass' own on_mount; this one only steadies the cursor.
        if self.wizard.stable:
            for field in self.query(Input):
                field.cursor_blink = False

    def action_scroll_body(self, how: str) -> None:
        scroll_body(self, how)

    def show_error(self, message: str) -> None:
        """One line naming the problem and the fix, where the user is looking."""
        error = self.query_one("#error", Static)
        error.update(f"✗ {escape(safe_text(message))}")  # may echo outside text: no markup, no controls
        error.add_class("shown")
        bring_into_view(error)
        self.app.bell()

    def clear_error(self) -> None:
        error = self.query_one("#error", Static)
        error.update("")
        error.remove_class("shown")

    def save(self) -> bool:
        """Store this step's answers; False (after show_error) when they are not valid."""
        return True

    def action_next(self) -> None:
        if self.save():
            self.wizard.next_step()

    def action_back(self) -> None:
        self.save_quietly()
        self.wizard.previous_step()

    def save_quietly(self) -> None:
        """Keep what was typed when going back, even if it is not valid yet."""

    def action_help(self) -> None:
        from smtpwizard.ui.widgets.dialogs import HelpDialog

        self.app.push_screen(HelpDialog(self.TITLE, self.HELP or self.INTRO))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        # Textual also calls this after a subclass' own handler (handlers run along the MRO).
        if event.button.id == "next":
            event.stop()
            self.action_next()
        elif event.button.id == "back":
            event.stop()
            self.action_back()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_next()
