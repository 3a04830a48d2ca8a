"""Whatever the text, a field's value is one WeChat takes for its kind (never 47003)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from server.notifications.fields import KINDS, field_value
from tests.fakes.wechat_subscribe import field_ok

TZ = ZoneInfo("Asia/Shanghai")
values = st.one_of(
    st.none(),
    st.text(max_size=80),
    st.integers(min_value=-(10**15), max_value=10**15),
    st.datetimes(timezones=st.just(UTC)),
    st.datetimes(timezones=st.just(UTC)).map(datetime.isoformat),
)


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(KINDS), number=st.integers(1, 99), value=values)
def test_every_value_fits_its_field(kind: str, number: int, value: object) -> None:
    key = f"{kind}{number}"
    shown = field_value(key, value, TZ)
    assert field_ok(key, shown), (key, value, shown)


def test_formats() -> None:
    at = datetime(2026, 12, 31, 16, 30, tzinfo=UTC)
    assert field_value("date1", at, TZ) == "2027年01月01日 00:30"
    assert field_value("amount1", 5, TZ) == "¥0.05"
    assert field_value("amount1", 12_345_678_901, TZ) == "¥123456789"
    assert field_value("phrase1", "审核 approved 通过了吗", TZ) == "审核通过了"
    assert field_value("phrase1", "ok", TZ) == "通知"
    assert field_value("thing1", "a\nb\x00c", TZ) == "a bc"
    assert field_value("character_string1", "单号 SO-001", TZ) == "SO-001"
    assert field_value("number1", "共 1,234.50 箱", TZ) == "1234.50"
