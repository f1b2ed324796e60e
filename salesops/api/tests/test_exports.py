"""`GET /api/v1/exports/{object_type}`: the API's bulk read is an export — the role's
export right is needed (403 and no file without it), rows stay within the caller's data
scope and fields their role hides are neither columns nor values."""

import csv
import io

import pytest
from openpyxl import load_workbook

from salesops.crm.tests.factories import CustomerFactory


@pytest.fixture
def customers(cast):
    type(cast.rep).objects.filter(pk=cast.rep.pk).update(language="en")  # headers in English
    CustomerFactory(owner=cast.rep, name="East Co", phone="13100001111")
    CustomerFactory(owner=cast.outsider, name="West Co", phone="13900002222")
    return cast


def rows_of(response) -> list[list[str]]:
    body = b"".join(response.streaming_content)
    if response["Content-Type"].startswith("text/csv"):
        return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    book = load_workbook(io.BytesIO(body), read_only=True)
    return [
        ["" if v is None else str(v) for v in r] for r in book.active.iter_rows(values_only=True)
    ]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_export_holds_the_callers_rows_only(customers, as_user, fmt):
    response = as_user(customers.rep).get("/exports/customer", {"format": fmt})
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    rows = rows_of(response)
    assert "name" in rows[0] and "phone" in rows[0]
    text = repr(rows)
    assert "East Co" in text and "13100001111" in text
    assert "West Co" not in text and "13900002222" not in text


def test_a_hidden_field_is_neither_a_column_nor_a_value(customers, as_user):
    role = customers.rep.role
    role.hidden_fields = {"customer": ["phone"]}
    role.save()
    rows = rows_of(as_user(customers.rep).get("/exports/customer"))
    assert "phone" not in rows[0] and "13100001111" not in repr(rows)
    assert "East Co" in repr(rows)


def test_without_the_export_right_the_api_refuses(customers, as_user):
    role = customers.rep.role
    role.rights = {**role.rights, "customer": ["view", "create", "edit"]}
    role.save()
    client = as_user(customers.rep)
    response = client.get("/exports/customer", {"format": "csv"})
    assert response.status_code == 403
    assert "export" in response.json()["detail"]
    assert b"East Co" not in response.content
    # The paged JSON read needs only the view right.
    assert client.get("/customers").status_code == 200


def test_an_unknown_kind_is_not_found(customers, as_user):
    assert as_user(customers.rep).get("/exports/spaceship").status_code == 404
