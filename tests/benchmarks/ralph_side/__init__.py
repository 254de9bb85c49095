"""Scripts run by Ralph's own interpreter (a side environment), never imported by ours."""
