"""The run report: a self-contained HTML page of what a run read, learnt and decided."""
