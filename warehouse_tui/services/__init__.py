"""Business rules: one transaction per operator action, no Textual here."""
