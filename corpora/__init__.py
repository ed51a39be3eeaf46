"""Huashu's corpora as package data (found through ``analyzer.resources``): the lexicon, the
categories, the scorecard, the handbook phrases and the labelled sets. Data only; the checker
scripts in ``classifier/`` and ``sentiment/`` run as scripts (``python corpora/classifier/check_part_a.py``)."""
