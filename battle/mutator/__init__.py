"""Cloud-side edits behind the tool's back (adds, edits, retirements; never results)."""
