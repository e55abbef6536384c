"""threeregs: the Three Provisions reporting duty, embedded in case-handling software."""
