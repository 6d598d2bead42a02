"""gradfail: the claims of "Failures of Gradient-Based Deep Learning" as tests that train real models.

Shalev-Shwartz, Shamir & Shammah, ICML 2017 (arXiv 1703.07950). Each claim of the paper is a record in
`gradfail.claims`; the pytest plugin (`gradfail.pytest_plugin`) turns the records into tests, a claims
table and a JSON report.
"""

__version__ = "0.1.0"
