"""Issue 16: no Swagger UI or ReDoc from a CDN; the OpenAPI document stays, under the pages' one CSP."""

from __future__ import annotations

from pathlib import Path

from staff_app import staff_hub


def test_docs_are_off_and_the_spec_stays(tmp_path: Path) -> None:
    with staff_hub(tmp_path / "hub") as staff:
        assert staff.call("GET", "/docs").status_code == 404
        assert staff.call("GET", "/redoc").status_code == 404
        spec = staff.call("GET", "/openapi.json")
        assert spec.status_code == 200 and "/api/login" in spec.json()["paths"]
        csp = spec.headers["content-security-policy"]
        assert "cdn.jsdelivr.net" not in csp and "script-src 'self'" in csp
        script_src = csp.split("script-src", 1)[1].split(";", 1)[0]
        assert "'unsafe-inline'" not in script_src
