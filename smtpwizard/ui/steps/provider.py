"""Step 2: the email provider, searchable and grouped; a region where it has regions."""

from __future__ import annotations

from typing import ClassVar

from rich.markup import escape
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from smtpwizard.core.display import safe_text
from smtpwizard.core.domain.detect import Proposal, Suggestion, suggest_provider
from smtpwizard.core.providers import GROUPS, Provider, get_provider, load_providers
from smtpwizard.ui.steps.base import StepScreen


def _matches(provider: Provider, query: str) -> bool:
    words = query.lower().split()
    haystack = " ".join((provider.id, provider.name, provider.summary, *(h.host for h in provider.hosts))).lower()
    return all(word in haystack for word in words)


def _row(provider: Provider, name_width: int) -> Table:
    """The name, then the whole summary; both wrap within their column rather than being cut."""
    row = Table.grid(padding=(0, 1))
    row.add_column(width=name_width)
    row.add_column(ratio=1)
    row.add_row(Text(provider.name), Text(provider.summary, style="dim"))
    return row


def _name_width(list_width: int) -> int:
    """Wide terminals show every name on one line; at 80 columns and less long names wrap."""
    longest = max(len(p.name) for p in load_providers())
    if list_width >= longest + 62:
        return longest
    return 24 if list_width >= 70 else 16


class FilterInput(Input):
    """The filter field; Up/Down move through the list below while typing continues here."""

    BINDINGS: ClassVar[list[Binding]] = [  # type: ignore[assignment]
        Binding("down", "screen.move(1)", "Next provider", show=False),
        Binding("up", "screen.move(-1)", "Previous provider", show=False),
    ]


class ProviderStep(StepScreen):
    STEP = "provider"
    TITLE = "Provider"
    SHORT = "Provider"
    INTRO = "Who sends your mail? Type to filter."
    HELP = (
        "Choosing a provider fills in its server, port and security mode, and shows what it requires "
        "(App Passwords, 'apikey' as username, verified senders...). Pick 'Custom server' for anything else.\n\n"
        "Type your sender address or domain in the Sender field (Shift+Tab) and leave it or press Enter: "
        "smtpwizard looks up the domain's MX and submission SRV records and highlights the provider they "
        "point to. Nothing is chosen until you press Enter on the list."
    )

    def __init__(self) -> None:
        super().__init__()
        self.proposal: Proposal | None = None  # the current answer for what the Sender field holds
        self.looked_up = ""  # the Sender field's value the last look-up was started for

    def compose_body(self) -> ComposeResult:
        with Horizontal(classes="row", id="sender-hint-row"):
            yield Label("Sender", classes="label")
            yield Input(
                self.answers.sender_hint,
                placeholder="optional: you@domain, suggests a provider",
                compact=True,
                id="sender-hint",
            )
        yield Static("", id="proposal")
        yield FilterInput(placeholder="filter: e.g. ses, gmail, relay", compact=True, id="filter")
        yield OptionList(id="providers")
        with Horizontal(id="region-row", classes="row"):
            yield Label("Region", classes="label")
            yield Select[str]([], compact=True, id="region", prompt="choose a region")
        yield Static("", id="gotchas")

    def on_mount(self) -> None:
        self.looked_up = self.answers.sender_hint  # a pre-filled value (edit mode) is looked up only on Enter
        self.refill("")
        self.query_one("#filter", Input).focus()

    def on_resize(self) -> None:
        self.refill(self.query_one("#filter", Input).value, keep_highlight=True)

    def action_move(self, step: int) -> None:
        """Up/Down in the filter move through the list, so Enter picks what is highlighted."""
        providers = self.query_one("#providers", OptionList)
        if step > 0:
            providers.action_cursor_down()
        else:
            providers.action_cursor_up()

    def refill(self, query: str, *, keep_highlight: bool = False) -> None:
        providers = self.query_one("#providers", OptionList)
        name_width = _name_width(providers.size.width or self.app.size.width)
        previous = self.highlighted() if keep_highlight else None
        providers.clear_options()
        for group, title in GROUPS.items():
            members = [p for p in load_providers() if p.group == group and _matches(p, query)]
            if not members:
                continue
            providers.add_option(Option(f"── {title} ──", disabled=True))
            providers.add_options(Option(_row(p, name_width), id=p.id) for p in members)
        proposed = self.proposal.provider_id if self.proposal is not None else None
        wanted = previous.id if previous is not None else proposed or self.answers.provider
        first = None
        for index, option in enumerate(providers.options):
            if option.disabled:
                continue
            first = index if first is None else first
            if option.id == wanted:
                providers.highlighted = index
                break
        else:
            providers.highlighted = first
        self.show_provider()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter":
            self.refill(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        event.prevent_default()  # handled here, not again by StepScreen's handler
        if event.input.id == "sender-hint":  # Enter looks up (again) and moves on to the filter
            self.look_up(event.value.strip())
            self.query_one("#filter", Input).focus()
            return
        self.action_next()  # Enter in the filter picks the highlighted provider

    def on_input_blurred(self, event: Input.Blurred) -> None:
        if event.input.id == "sender-hint" and event.value.strip() != self.looked_up:
            self.look_up(event.value.strip())

    def look_up(self, text: str) -> None:
        """Propose a provider for ``text`` in a worker; a newer look-up replaces an older one."""
        self.answers.give_sender_hint(text)
        self.looked_up, self.proposal = text, None
        line = self.query_one("#proposal", Static)
        if not text:
            self.workers.cancel_group(self, "proposal")
            line.update("")
            line.remove_class("shown")
            return
        line.update(escape(f"Looking up the mail servers of {safe_text(text)} (MX, SRV)…"))
        line.add_class("shown")
        self.run_worker(self._suggest(text), group="proposal", exclusive=True, exit_on_error=False)

    async def _suggest(self, text: str) -> None:
        suggestion = await suggest_provider(text)
        if text != self.looked_up or text != self.query_one("#sender-hint", Input).value.strip():
            return  # an answer for an older value: the field says something else now
        self.show_suggestion(suggestion)

    def show_suggestion(self, suggestion: Suggestion) -> None:
        """Say what was found and highlight the proposed preset (the user still confirms with Enter)."""
        self.proposal = suggestion.proposal
        line = self.query_one("#proposal", Static)
        if self.proposal is None:
            line.update(escape(safe_text(suggestion.why_not)))
            return
        providers = self.query_one("#providers", OptionList)
        index = next((i for i, o in enumerate(providers.options) if o.id == self.proposal.provider_id), None)
        if index is not None:
            providers.highlighted = index
            self.call_after_refresh(providers.scroll_to_highlight, top=True)  # in view wherever the list stood
            self.show_provider()  # its region too, even when it was highlighted already
        line.update(escape(safe_text(self.proposal.line(highlighted=index is not None))))

    def highlighted(self) -> Provider | None:
        providers = self.query_one("#providers", OptionList)
        if providers.highlighted is None:
            return None
        option = providers.options[providers.highlighted]
        return get_provider(option.id) if option.id else None

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.show_provider()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_next()

    def show_provider(self) -> None:
        provider = self.highlighted()
        row = self.query_one("#region-row")
        region = self.query_one("#region", Select)
        gotchas = self.query_one("#gotchas", Static)
        if provider is None:
            row.display = False
            gotchas.update("No provider matches; clear the filter, or choose Custom server.")
            return
        row.display = len(provider.hosts) > 1
        if len(provider.hosts) > 1:
            region.set_options((h.label, h.host) for h in provider.hosts)
            proposed = self.proposal.host if self.proposal and self.proposal.provider_id == provider.id else None
            current = next(
                (h for h in (proposed, self.answers.host) if any(o.host == h for o in provider.hosts)),
                provider.hosts[0].host,
            )
            region.value = current
        lines = [f"{provider.name}: {provider.summary}.", f"Username: {provider.username_hint}"]
        lines += [f"• {g}" for g in provider.gotchas]
        lines.append(f"Docs: {provider.docs}")
        gotchas.update(escape("\n".join(lines)))

    def save(self) -> bool:
        self.answers.give_sender_hint(self.query_one("#sender-hint", Input).value)
        provider = self.highlighted()
        if provider is None:
            self.show_error("provider: none chosen; pick one from the list, or clear the filter")
            return False
        host = None
        if len(provider.hosts) > 1:
            value = self.query_one("#region", Select).value
            host = value if isinstance(value, str) else None
        if provider.id != self.answers.provider or (host and host != self.answers.host):
            cleared = self.answers.choose_provider(provider.id, host)
            self.wizard.switch_note = cleared
            if cleared:
                self.notify(escape(cleared), title="Provider changed", timeout=8)
        proposal = self.proposal
        if proposal is not None and proposal.found_by == "srv" and provider.id == proposal.provider_id:
            # the server the domain's SRV record names, as RFC 6186/8314 publish it
            self.answers.host, self.answers.port = proposal.host, str(proposal.port)
            self.answers.security, self.answers.security_by_hand = proposal.security, False
        return True

    def save_quietly(self) -> None:
        self.save()
