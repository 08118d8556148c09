"""Speed benchmarks, each beside the peer it is compared with; run them with ``make bench``."""
