"""Huashu's library and command line (``huashu``): ingest → normalise → match → rewrite → report,
the pipeline that ties them together, and the resources it reads (``analyzer.resources``)."""
