"""The tools a user would pick instead of apixo-mock, installed and started for the benchmark.

Prism (`@stoplight/prism-cli`, a stateless OpenAPI mock) serves the project's
own OpenAPI document; WireMock (npm's `wiremock` package, which bundles the
standalone jar) runs on the machine's Java with stubs that return the same
canned bodies as the bare Flask app. Both are installed by npm into
`bench/.peers/` (ignored by git) the first time they are needed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from bare_app import STATUS_BODY, SUBMIT_BODY

HERE = Path(__file__).parent
PEERS = HERE / ".peers"
ROOT = HERE.parent
PACKAGES = ("@stoplight/prism-cli@5", "wiremock@3")


def install() -> None:
    """npm-install the peers into bench/.peers once; later runs reuse them."""
    if (PEERS / "node_modules" / ".bin" / "prism").exists() and _wiremock_jar_or_none():
        return
    if shutil.which("npm") is None:
        raise RuntimeError("npm is not installed: the peers (Prism, WireMock) come from npm")
    PEERS.mkdir(exist_ok=True)
    print(f"installing {', '.join(PACKAGES)} into {PEERS} (once)", flush=True)
    subprocess.run(
        [
            "npm",
            "install",
            "--no-audit",
            "--no-fund",
            "--silent",
            "--prefix",
            str(PEERS),
            *PACKAGES,
        ],
        check=True,
    )


def versions() -> dict[str, str]:
    """Installed versions of the peers, and of the Java that runs WireMock."""
    found = {}
    for name in ("@stoplight/prism-cli", "wiremock"):
        manifest = PEERS / "node_modules" / name / "package.json"
        if manifest.exists():
            found[name] = json.loads(manifest.read_text())["version"]
    java = subprocess.run(["java", "-version"], capture_output=True, text=True, check=False)
    found["java"] = (java.stderr.splitlines() or ["?"])[0]
    return found


def prism_command(port: int) -> list[str]:
    """Prism serving schemas/openapi.yaml in its default (static) mode."""
    prism = PEERS / "node_modules" / ".bin" / "prism"
    spec = ROOT / "schemas" / "openapi.yaml"
    # Without --errors: Prism's generated answers do not satisfy the envelope's
    # `const` code, and with it every answer would be Prism's own 500.
    return [str(prism), "mock", "-h", "127.0.0.1", "-p", str(port), str(spec)]


def wiremock_command(port: int, root: Path) -> list[str]:
    """WireMock with two stubs answering the canned bodies, no request journal."""
    mappings = root / "mappings"
    mappings.mkdir(parents=True, exist_ok=True)
    stubs = {
        "status.json": ("GET", "/api/v1/statusTask/gpt-image-1", STATUS_BODY),
        "submit.json": ("POST", "/api/v1/generateTask/gpt-image-1", SUBMIT_BODY),
    }
    for name, (method, path, body) in stubs.items():
        stub = {
            "request": {"method": method, "urlPath": path},
            "response": {
                "status": 200,
                "body": body.decode(),
                "headers": {"Content-Type": "application/json"},
            },
        }
        (mappings / name).write_text(json.dumps(stub))
    jar = _wiremock_jar_or_none()
    if jar is None:
        raise RuntimeError("WireMock's jar is missing: run the install step")
    return [
        "java",
        "-jar",
        str(jar),
        "--port",
        str(port),
        "--bind-address",
        "127.0.0.1",
        "--root-dir",
        str(root),
        "--disable-banner",
        "--no-request-journal",
        "--disable-request-logging",
    ]


def _wiremock_jar_or_none() -> Path | None:
    jars = sorted((PEERS / "node_modules" / "wiremock" / "build").glob("*.jar"))
    return jars[-1] if jars else None
