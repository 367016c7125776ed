"""What a sync remembers: the bookmark rule, the state manager's index, when STATE goes out,
and the writer that puts it on stdout."""
