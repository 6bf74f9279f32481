"""Masking of names and phone numbers; ids are kept."""
import numpy as np
import pandas as pd

from kit.present.privacy import mask_frame, mask_name, mask_phone


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


def test_mask_frame_keeps_ids_and_respects_switch():
    df = pd.DataFrame(
        {"name": ["王五"], "contact_name": ["赵六"], "contact_phone": ["13700002222"], "region": ["华东"]},
        index=pd.Index(["C001"], name="customer_id"),
    )
    masked = mask_frame(df)
    assert masked.loc["C001", "name"] == "王**"
    assert masked.loc["C001", "contact_name"] == "赵**"
    assert masked.loc["C001", "contact_phone"] == "137****2222"
    assert masked.loc["C001", "region"] == "华东" and masked.index.tolist() == ["C001"]
    assert df.loc["C001", "name"] == "王五"  # input untouched
    assert mask_frame(df, enabled=False) is df
