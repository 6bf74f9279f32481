"""Masking of names and phone numbers; ids are kept."""
import numpy as np
import pandas as pd

from kit.present.privacy import mask_name, mask_phone


def test_mask_name_scalar():
    assert mask_name("张三") == "张**"
    assert mask_name("张三丰") == "张**"  # length is not revealed
    assert mask_name("John Smith") == "J** S**"
    assert mask_name(None) is None
    assert mask_name("") == ""


def test_mask_phone_scalar():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("+86 138-1234-5678") == "138****5678"
    assert mask_phone(13812345678.0) == "138****5678"
    assert mask_phone("021-6234 5678") == "021****5678"
    assert mask_phone("1234") == "****34"
    assert mask_phone("x") == "****"


def test_mask_series_keeps_missing():
    s = pd.Series(["李四", None, "Ann Lee"], index=["c1", "c2", "c3"])
    out = mask_name(s)
    assert out.tolist()[0] == "李**" and pd.isna(out["c2"]) and out["c3"] == "A** L**"
    assert out.index.tolist() == ["c1", "c2", "c3"]
    phones = mask_phone(pd.Series(["13900001111", np.nan]))
    assert phones[0] == "139****1111" and pd.isna(phones[1])


def test_mask_by_registry_role():
    """The writers and the table function mask by the column registry's PII roles (the one
    place that says which columns are personal data); ids and other text are kept, the input
    is not changed."""
    from kit.core.registry import pii_columns
    from kit.present.table import mask

    df = pd.DataFrame(
        {"name": ["王五", "Ann Lee"], "contact_name": ["赵六", None], "contact_phone": ["13700002222", "021-6234 5678"],
         "region": ["华东", "=1+1"], "account_manager": ["刘经理", "王经理"]},
        index=pd.Index(["C001", "C002"], name="customer_id"),
    )
    assert pii_columns(df.columns) == {"name": "name", "contact_name": "person", "contact_phone": "phone"}
    by_role = mask(df)
    assert by_role["contact_name"].iloc[0] == "赵**" and df.loc["C001", "name"] == "王五"
    assert by_role["name"].tolist() == ["王**", "A** L**"] and by_role["contact_phone"].iloc[1] == "021****5678"
    assert by_role["region"].tolist() == ["华东", "=1+1"] and by_role.index.tolist() == ["C001", "C002"]
