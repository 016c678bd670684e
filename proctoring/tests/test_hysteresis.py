from proctoring.hysteresis import Action, ConditionState, step


def run(observations, *, onset=4.0, release=4.0, cadence=2.0):
    """Feed (present?) observations every `cadence` seconds; return the actions taken."""
    state, actions = ConditionState(), []
    for i, present in enumerate(observations):
        state, action = step(state, present=present, now=i * cadence, onset=onset, release=release)
        actions.append(action)
    return actions


def test_one_bad_frame_raises_nothing():
    assert set(run([False, True, False, False])) == {Action.NONE}


def test_a_thirty_second_absence_is_one_event_with_a_duration():
    present = [False] + [True] * 16 + [False] * 4  # 32 s of "no face" at a 2 s cadence
    actions = run(present)
    assert actions.count(Action.OPEN) == 1
    assert actions.count(Action.CLOSE) == 1
    assert actions.index(Action.OPEN) == 3  # opened once seen for 4 s


def test_a_short_gap_inside_a_long_absence_does_not_split_it():
    actions = run([True] * 5 + [False] + [True] * 5 + [False] * 4)
    assert actions.count(Action.OPEN) == 1 and actions.count(Action.CLOSE) == 1


def test_the_event_spans_from_first_to_last_sighting():
    state = ConditionState()
    for now, present in [(0, True), (2, True), (4, True), (6, True), (8, False), (10, False)]:
        state, action = step(state, present=present, now=now, onset=4, release=4)
        if action is Action.OPEN:
            assert state.first_seen == 0
    assert action is Action.CLOSE


def test_state_survives_a_round_trip_through_the_cache_format():
    state, _ = step(ConditionState(), present=True, now=5, onset=0, release=4)
    assert ConditionState.from_dict(state.to_dict()) == state
    assert ConditionState.from_dict(None) == ConditionState()
