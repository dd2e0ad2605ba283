"""Recording, replaying and comparing runs: the file format, the recorder, the replayer and the comparison."""
