"""Networks an area can be reconstructed with: the shipped ones, and versions trained on a user's area."""
