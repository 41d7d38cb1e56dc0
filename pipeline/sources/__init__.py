"""Remote sources of LCD documents: the CMS Coverage API.

`coverage_api` is the httpx client (token, retries, rate limit); `records` parses its bodies (pure).
This package file stays import-light: the CLI reads DEFAULT_BASE_URL while building its parser.
"""

DEFAULT_BASE_URL = "https://api.coverage.cms.gov"
