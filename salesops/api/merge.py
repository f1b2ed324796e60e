"""Merging duplicates through the API: `POST /api/v1/{leads|customers|contacts}/merge`,
the same service as the merge page (`crm.merge_services.merge_records`)."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema
from pydantic import Field, create_model

from salesops.api import resources as r
from salesops.api.framework import WRITE_ERRORS, Resource, json_response, serialize
from salesops.api.schemas import Strict
from salesops.crm import merge_services

router = Router()


class MergeIn(Strict):
    winner: int = Field(..., description="The record that stays.")
    losers: list[int] = Field(
        ...,
        min_length=1,
        max_length=merge_services.MOST - 1,
        description="The records merged into it: soft-deleted, with `merged_into` set.",
    )
    choices: dict[str, int] = Field(
        default_factory=dict,
        description=(
            "Field key → id of the record (winner or loser) whose value the winner takes. "
            "Fields not named keep the winner's value. Only fields the caller may see and "
            "change can be named (custom fields by their key); many-to-many fields (tags) "
            "are united."
        ),
    )


def _merge_route(resource: Resource) -> None:
    object_type, tag = str(resource.object_type), resource.tag

    out = create_model(
        f"{resource.model.__name__}MergeOut",
        __base__=Schema,
        record=(resource.out, ...),
        merged=(list[int], ...),
        moved=(
            dict[str, int],
            Field(
                description="Records that pointed at the losers and now point at the winner, "
                "by model (`app_label.model`)."
            ),
        ),
    )

    @router.post(
        f"/{resource.name}/merge",
        response={200: out, **WRITE_ERRORS},
        tags=[tag],
        operation_id=f"{resource.name}_merge",
        summary=f"Merge duplicate {resource.name} into one",
        description=(
            "Moves every record pointing at the losers (deals, contacts, follow-ups, "
            "tasks, quotes, contracts, custom-object records…) to the winner, and writes "
            "one audit entry. Needs the right to edit the winner and to delete the losers; "
            "a record the caller cannot see is a 404."
        ),
    )
    def merge(request: HttpRequest, payload: MergeIn) -> HttpResponse:
        user: Any = request.user
        result = merge_services.merge_records(
            by=user,
            object_type=object_type,
            winner_id=payload.winner,
            loser_ids=payload.losers,
            choices=payload.choices,
        )
        return json_response(
            {
                "record": serialize([result.winner], resource, user)[0],
                "merged": [x.pk for x in result.losers],
                "moved": result.moved,
            }
        )


for _resource in (r.leads, r.customers, r.contacts):
    _merge_route(_resource)
