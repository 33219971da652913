"""gradflow, train and demo commands (filled in below)."""
