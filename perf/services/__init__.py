"""The write side: one module per job (see STYLE.md). Entry points call these."""
