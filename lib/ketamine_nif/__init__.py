"""Bayesian reanalysis of a randomised ketamine trial: blood neurotrophic and
inflammatory factors (NIFs) and depression over five days.

Modules are named after what they hold: ``paths`` (where everything lives),
``contract`` (the data contract and its validation), ``twin`` (the synthetic
twin), ``estimands`` (the keys shared by truth and estimates), ``subgroups``,
``describe`` (summaries for the data chapter), ``plotting`` (one figure style),
``runner`` (notebooks through Papermill, with caching) and ``render`` (the book).
"""

__version__ = "0.1.0"
