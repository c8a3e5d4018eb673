"""Which VFD flags the tool holds and when the PLC disagrees with them."""

from sut.tool.plc import Flag, flags_from_vfds, mismatched

VFD = {"id": 1, "name": "CV001_VFD", "mapTag": "CV001_VFD_Map", "hpTag": "CV001_VFD_HP",
       "dirTag": "CV001_VFD_Dir", "revTag": "CV001_VFD_Rev", "map": 12, "hp": 75, "direction": 1, "reverse": 0}


def test_four_flags_per_vfd_with_their_types():
    flags = flags_from_vfds([VFD])
    assert [(f.tag, f.expected, f.is_bool) for f in flags] == [
        ("CV001_VFD_Map", 12, False), ("CV001_VFD_HP", 75, False),
        ("CV001_VFD_Dir", 1, True), ("CV001_VFD_Rev", 0, True)]
    assert [f.wire_value() for f in flags] == [12, 75, True, False]


def test_a_reset_plc_disagrees_and_a_restored_one_does_not():
    flags = flags_from_vfds([VFD])
    reset = {"CV001_VFD_Map": 0, "CV001_VFD_HP": 0, "CV001_VFD_Dir": False, "CV001_VFD_Rev": False}
    assert mismatched(flags, reset) == ["CV001_VFD_Map", "CV001_VFD_HP", "CV001_VFD_Dir"]
    restored = {"CV001_VFD_Map": 12, "CV001_VFD_HP": 75, "CV001_VFD_Dir": True, "CV001_VFD_Rev": False}
    assert mismatched(flags, restored) == []


def test_unreadable_values_count_as_wrong():
    flag = Flag("X", 3, False)
    assert not flag.matches(None) and not flag.matches("three") and flag.matches(3.0)
