"""The terminal's outbox capture is one table of per-model policies: each names real columns and known operations."""

from __future__ import annotations

from sqlalchemy import inspect

from warehouse_tui.sync.capture import CLAIMED, POLICIES
from warehouse_tui.sync.documents import OPS


def test_every_captured_field_is_a_column_of_its_model_sent_as_a_known_operation():
    # Given the capture's policy table
    for model, policy in POLICIES.items():
        columns = set(inspect(model).columns.keys())
        for field in policy.fields:
            # Then each field it sends is a column of the model, sent as set, add or claim
            assert field.how in OPS and field.how in ("set", "add", "claim"), (model.__name__, field)
            assert field.name in columns, (model.__name__, field.name)
            if field.how == "claim":
                assert set(CLAIMED) <= columns, model.__name__
        # And a row is created or deleted upstream only where the policy says so
        assert policy.create is None or not policy.new_fields, model.__name__


def test_master_data_never_goes_up_from_a_terminal():
    # Given the models a terminal may change
    from warehouse_tui.db.models import Bin, Item, ItemCode, Movement, Owner, Quant

    # Then master data, stock and movements have no capture policy (movements leave by their own outbox entries)
    assert not {Bin, Item, ItemCode, Owner, Quant, Movement} & set(POLICIES)
