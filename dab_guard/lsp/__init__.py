"""The language server (`dab-guard lsp`): findings while typing. Only the command line imports this package."""
