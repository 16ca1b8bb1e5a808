"""schemathesis: requests generated from /openapi.json (valid and invalid), answers checked
against the same document; a bounded number of examples per operation."""
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks as sc
from schemathesis.generation import GenerationMode

import images
from conftest import make_app

POSITIVE_CHECKS = [sc.not_a_server_error, sc.status_code_conformance, sc.content_type_conformance,
                   sc.response_schema_conformance, sc.response_headers_conformance]
NEGATIVE_CHECKS = POSITIVE_CHECKS + [sc.negative_data_rejection]
OPERATIONS = [("POST", "/detect"), ("POST", "/restore"), ("GET", "/models"), ("GET", "/health"),
              ("GET", "/openapi.json")]


@pytest.fixture(scope="module")
def schema(tiny_models, no_client):
    # the schemathesis pytest plugin (from_fixture / parametrize) does not run on pytest 9,
    # so the cases are drawn with plain hypothesis from each operation's strategy
    return schemathesis.openapi.from_wsgi("/openapi.json", make_app(tiny_models, no_client))


def test_every_endpoint_is_described(schema):
    assert {(m.upper(), p) for p, ops in schema.raw_schema["paths"].items() for m in ops} == \
        set(OPERATIONS)


# invalid data can only be made for the operations that take input
CASES = [(m, p, GenerationMode.POSITIVE) for m, p in OPERATIONS] + \
        [(m, p, GenerationMode.NEGATIVE) for m, p in OPERATIONS if m == "POST"]


@pytest.mark.parametrize("method, path, mode", CASES)
def test_operation_conforms(schema, method, path, mode):
    operation = schema[path][method]
    checks = NEGATIVE_CHECKS if mode is GenerationMode.NEGATIVE else POSITIVE_CHECKS

    @settings(max_examples=20, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        case.call_and_validate(checks=checks)

    run()


def image_case(operation, headers=None, **fields):
    body = {"image": images.jpeg(images.pattern(120, 160), 30), **fields}
    return operation.Case(body=body, media_type="multipart/form-data", headers=headers or {})


def test_successful_answers_conform(schema):
    """Generated data rarely is a real image: the 200 answers are checked on real ones here."""
    detect, restore = schema["/detect"]["POST"], schema["/restore"]["POST"]
    cases = [image_case(detect),
             image_case(restore),
             image_case(restore, {"Accept": "application/json"}),
             image_case(restore, {"Accept": "application/json"}, force="true", model="small-pregan"),
             image_case(restore, force="true")]
    for case in cases:
        response = case.call_and_validate(checks=POSITIVE_CHECKS)
        assert response.status_code == 200
