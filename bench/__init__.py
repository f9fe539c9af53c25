"""Speed benchmarks of the bundle, each against a baseline measured in the same process (``make bench``)."""
