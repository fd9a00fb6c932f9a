"""The export wing: provider set-up, the bounded batch pipeline and the embedded file default."""
