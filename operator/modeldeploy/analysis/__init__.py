"""Analysis: metric checks (Prometheus, Azure Monitor, Log Analytics) and drift between reference and live
data, folded into one verdict per run. Entry point: ``run.run_analysis``; mapping to the CRD: ``from_spec``.

Nothing is imported here: the drift engine needs numpy, scipy and pyarrow (about 100 MB), and an operator
whose ModelDeployments only check metrics, or none, should never load them.
"""
