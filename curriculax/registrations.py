"""Every registered id, with its env class named as a string (nothing is imported here)."""

from __future__ import annotations

import gymnasium

from curriculax.registry import register

_GRID = "curriculax.envs.grid"

# MiniGrid's sizes and names: ``MiniGrid-X-v0`` is ``curriculax/X-v0``.
for _size in (5, 6, 8, 16):
    register(f"Empty-{_size}x{_size}-v0", f"{_GRID}.empty:Empty", size=_size)
for _size in (5, 6):
    register(
        f"Empty-Random-{_size}x{_size}-v0", f"{_GRID}.empty:Empty", size=_size, random_start=True
    )
for _size in (5, 6, 8, 16):
    register(f"DoorKey-{_size}x{_size}-v0", f"{_GRID}.doorkey:DoorKey", size=_size)

# The UED maze (PAIRED, PLR, ACCEL, SFL): 13x13, walls at random cells, 5x5 view, 250 steps.
register("Maze-v0", f"{_GRID}.maze:Maze", size=13, n_walls=25)
register("Maze-60Walls-v0", f"{_GRID}.maze:Maze", size=13, n_walls=60)
for _size in (15, 21, 31):
    register(f"PerfectMaze-{_size}x{_size}-v0", f"{_GRID}.maze:PerfectMaze", size=_size)

# Held-out evaluation mazes, one id per layout in envs/grid/layouts/heldout_mazes.txt.
HELDOUT_MAZES = (
    "FourRooms", "SixteenRooms", "Labyrinth", "Serpentine", "LongCorridor", "ThreeRooms",
    "Pillars", "Bottleneck", "Comb", "Detour", "PerfectMaze21", "PerfectMaze31",
)  # fmt: skip
for _name in HELDOUT_MAZES:
    register(f"Maze-HeldOut-{_name}-v0", f"{_GRID}.heldout:HeldOutMaze", layout=_name)

register("FourRooms-v0", f"{_GRID}.fourrooms:FourRooms")
for _size in (5, 6, 7):
    register(f"LavaGapS{_size}-v0", f"{_GRID}.lavagap:LavaGap", size=_size)
for _size, _n in ((9, 1), (9, 2), (9, 3), (11, 5)):
    for _kind, _lava in (("Lava", True), ("Simple", False)):
        register(
            f"{_kind}CrossingS{_size}N{_n}-v0",
            f"{_GRID}.crossing:Crossing",
            size=_size,
            num_crossings=_n,
            lava=_lava,
        )

# MultiRoom, MiniGrid's ids and step limits (20 per room). MiniGrid's legacy N4-S5-v0 draws 6
# rooms (its registration says so), v1 the 4 rooms its name promises; both as MiniGrid has them.
for _name, _rooms, _room_size in (
    ("N2-S4-v0", 2, 4),
    ("N4-S5-v0", 6, 5),
    ("N4-S5-v1", 4, 5),
    ("N6-v0", 6, 10),
):
    register(
        f"MultiRoom-{_name}",
        f"{_GRID}.multiroom:MultiRoom",
        size=25,
        num_rooms=_rooms,
        max_room_size=_room_size,
        max_steps=20 * _rooms,
    )

# KeyCorridor, MiniGrid's ids: S room size, R rows of 3 rooms; 30 * S**2 steps.
for _room_size, _rows in ((3, 1), (3, 2), (3, 3), (4, 3), (5, 3), (6, 3)):
    register(
        f"KeyCorridorS{_room_size}R{_rows}-v0",
        f"{_GRID}.keycorridor:KeyCorridor",
        max_room_size=_room_size,
        max_rows=_rows,
    )

# Memory, MiniGrid's ids and sizes; 5 * size**2 steps.
for _size, _random in ((17, True), (13, True), (13, False), (11, False), (9, False), (7, False)):
    register(
        f"MemoryS{_size}{'Random' if _random else ''}-v0",
        f"{_GRID}.memory:Memory",
        size=_size,
        random_length=_random,
    )

# The parkour (TeachMyAgent): Parkour with its benchmark walker, and Stump Tracks.
_PARKOUR = "curriculax.envs.parkour"
register("Parkour-v0", f"{_PARKOUR}.parkour:Parkour", body="old_classic_bipedal")
register("StumpTracks-v0", f"{_PARKOUR}.stumps:StumpTracks", body="old_classic_bipedal")
register("Parkour-Climber-v0", f"{_PARKOUR}.parkour:Parkour", body="climber")
register("Parkour-Swimmer-v0", f"{_PARKOUR}.parkour:Parkour", body="fish", water_level=1.0)

# Web forms: MiniWoB++'s form tasks as fixed settings of the procedural Form (step budgets a few
# times the oracle's steps, in place of MiniWoB++'s 10-second timer), and Form itself.
_FORM = "curriculax.envs.webform.form:Form"
_ONE_PAGE = {"max_pages": 1, "max_distractors": 0}
register("EnterText-v0", _FORM, widgets=("text",), max_widgets=1, max_options=2, **_ONE_PAGE,
         max_steps=10)  # fmt: skip
register("EnterPassword-v0", _FORM, widgets=("password", "password"), max_widgets=2,
         max_options=2, **_ONE_PAGE, same_value=True, max_steps=10)  # fmt: skip
register("LoginUser-v0", _FORM, widgets=("text", "password"), max_widgets=2, max_options=2,
         **_ONE_PAGE, max_steps=10)  # fmt: skip
register("ClickOption-v0", _FORM, widgets=("radio",), max_widgets=1, max_options=6,
         **_ONE_PAGE, max_steps=10)  # fmt: skip
register("ClickCheckboxes-v0", _FORM, widgets=("checkbox",), max_widgets=1, max_options=6,
         **_ONE_PAGE, partial=True, max_steps=12)  # fmt: skip
register("ChooseList-v0", _FORM, widgets=("select",), max_widgets=1, max_options=9,
         **_ONE_PAGE, options_low=3, max_steps=10)  # fmt: skip
register("FormSequence-v0", _FORM, widgets=("radio", "text", "checkbox"), max_widgets=3,
         max_options=3, max_pages=3, max_distractors=0, num_pages=3, max_steps=20)  # fmt: skip
# book-flight's form: two airports by autocomplete (type a part, pick an entry from the menu), a
# date from a jQuery UI datepicker's calendar (October to December 2016), then Search (Submit).
# Up to 8 entries per menu: the real page's menus for the instructed city and code fit in 8 on
# ~98 % of its episodes (docs/environments.md).
register("BookFlight-v0", _FORM, widgets=("autocomplete", "autocomplete", "datepicker"),
         page="book-flight", max_widgets=3, max_options=8, max_pages=1, max_distractors=0,
         max_chars=36, num_pages=1, max_steps=16)  # fmt: skip
register("Form-v0", _FORM)

#: The entry point of the bridges to MiniWoB++'s own pages (``curriculax list --miniwob``).
MINIWOB_BRIDGE = "curriculax.envs.webform.miniwob:MiniWoBBridge"
# MiniWoB++'s own pages for the mirrored tasks (host side, one browser each: the slow reference,
# not a training env), with the mirrored id's spaces; gymnasium only (they are not JAX envs).
for _task in ("EnterText", "EnterPassword", "LoginUser", "ClickOption", "ClickCheckboxes",
              "ChooseList", "BookFlight"):  # fmt: skip
    gymnasium.register(
        id=f"curriculax/MiniWoB-{_task}-v0",
        entry_point=MINIWOB_BRIDGE,
        kwargs={"env_id": f"curriculax/{_task}-v0"},
    )
