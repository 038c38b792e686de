"""Does the instructor package keep jsonschema from building its IRI grammar at import, and do
IRI format checks still give jsonschema's own answers? (Fresh interpreters: the stand-in acts
only before anything imports jsonschema.)"""

from __future__ import annotations

import json
import subprocess
import sys

CHECK = """
import json, sys
{first}
import jsonschema
built = "lark" in sys.modules
checker = jsonschema.FormatChecker()
cases = [("iri", "http://example.com/\u00fcber"), ("iri", "not an iri"), ("iri-reference", "a b"),
         ("iri-reference", "../x?y#z")]
print(json.dumps({{"built_at_import": built, "answers": [checker.conforms(v, f) for f, v in cases]}}))
"""


def run(first: str) -> dict:
    done = subprocess.run([sys.executable, "-c", CHECK.format(first=first)], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def test_the_grammar_waits_and_iri_checks_agree_with_jsonschema():
    plain = run("")
    ours = run("import platformlab_instructor")
    assert plain["built_at_import"], "jsonschema no longer builds the IRI grammar at import: lazy_iri can go"
    assert not ours["built_at_import"]
    assert ours["answers"] == plain["answers"] == [True, False, False, True]
