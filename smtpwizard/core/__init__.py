"""The UI-free core of smtpwizard. Nothing here imports Textual."""
