"""sgd_gym/ScienceWorld-v1 against the real JVM, Gymnasium's checkers and stock ScienceWorld."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import warnings

import gymnasium as gym
import psutil
import pytest
from gymnasium.wrappers import RecordEpisodeStatistics

import sgd_gym  # noqa: F401
from sgd_gym.backend import BackendError
from sgd_gym.envs.scienceworld import MAX_ACTION_LENGTH, UNKNOWN_ACTION
from tests.conftest import java_pids


# ---------------------------------------------------------------- gold paths vs stock
@pytest.mark.parametrize(
    ("task", "split", "variation"),
    [("boil", "train", 0), ("find-living-thing", "test", 3), ("chemistry-mix", "test", 0), ("power-component", "train", 2)],
)
def test_gold_path_reaches_100_and_matches_stock(task, split, variation):
    from scienceworld import ScienceWorldEnv as StockEnv

    env = gym.make("sgd_gym/ScienceWorld-v1", task=task, split=split, variation=variation)
    stock = StockEnv("", envStepLimit=10_000)
    try:
        obs, info = env.reset(seed=0, options={"gold_path": True})
        gold = info["gold_path"]
        assert gold and info["variation"] == variation
        start_score = info["score"]
        stock.load(task, info["variation_id"], "easy", generateGoldPath=False)
        stock_obs, stock_info = stock.reset()
        assert obs["observation"] == stock_obs
        assert obs["task"] == stock.get_task_description()
        total = 0.0
        for i, action in enumerate(gold):
            obs, reward, terminated, truncated, info = env.step(action)
            stock_obs, stock_reward, _, stock_info = stock.step(action)
            assert obs["observation"] == stock_obs, (i, action)
            assert obs["look"] == stock_info["look"] and obs["inventory"] == stock_info["inv"], (i, action)
            assert reward == stock_reward and info["score"] == stock_info["score"]
            total += reward
            assert not truncated
            if terminated:
                break
        assert info["score"] == 100 and total + start_score == 100
        assert terminated and not truncated and not info["failed"]
    finally:
        env.close()
        stock.close()


def _trace(env, actions, **reset_options):
    obs, info = env.reset(options=reset_options)
    return [obs] + [env.step(action)[:4] for action in actions], info


def test_episodes_and_gold_paths_do_not_depend_on_jvm_history():
    """Same variation after different earlier episodes: same gold path, same text (see sgd_gym.backend)."""
    env = gym.make("sgd_gym/ScienceWorld-v1", task="test-conductivity", variation=0)
    try:
        reference, info = _trace(env, [], gold_path=True)
        gold = info["gold_path"]
        reference, _ = _trace(env, gold)
        for other in ("chemistry-mix", "boil", "find-animal"):
            _trace(env, ["look around", "wait1"], task=other, variation=1, gold_path=True)
            again, info = _trace(env, gold, gold_path=True)
            assert info["gold_path"] == gold and again == reference, other
    finally:
        env.close()


def test_gold_path_search_cache_does_not_leak_between_variations():
    """ScienceWorld caches room-to-room search paths JVM-wide: after chemistry-mix, "boil lead" took a detour."""
    fresh = gym.make("sgd_gym/ScienceWorld-v1", task="boil", split="test", variation=0)
    used = gym.make("sgd_gym/ScienceWorld-v1", task="chemistry-mix", split="test")
    try:
        reference = fresh.reset(options={"gold_path": True})[1]["gold_path"]
        for variation in range(4):
            used.reset(options={"variation": variation, "gold_path": True})
        _, info = used.reset(options={"task": "boil", "variation": 0, "gold_path": True})
        assert info["gold_path"] == reference
    finally:
        fresh.close()
        used.close()


def test_listing_valid_actions_never_changes_the_episode():
    """Stock ScienceWorld draws object referents from the world's random generator; we do not."""
    actions = ["open door to outside", "go to outside"] + ["wait1"] * 6 + ["look around"]
    traces = []
    for with_valid in (False, True):
        env = gym.make("sgd_gym/ScienceWorld-v1", task="find-animal", variation=0, valid_actions=with_valid)
        try:
            obs, info = env.reset()
            trace = [obs]
            for action in actions:
                obs, reward, terminated, truncated, info = env.step(action)
                trace.append((obs, reward))
                if with_valid:
                    assert info["valid_actions"] == env.unwrapped.accepted_actions()  # a function of the state
                    env.unwrapped.valid_actions()
                    env.unwrapped.backend.listed_actions()
            traces.append(trace)
        finally:
            env.close()
    assert traces[0] == traces[1]


# ---------------------------------------------------------------- seeding
def test_seed_fixes_variation_and_first_observation(boil_env):
    first, info = boil_env.reset(seed=7)
    again, info_again = boil_env.reset(seed=7)
    assert first == again and info["variation"] == info_again["variation"]
    variations = {boil_env.reset(seed=seed)[1]["variation"] for seed in range(12)}
    assert len(variations) >= 4
    assert all(0 <= v < 14 for v in variations)


def test_reset_options_and_fixed_variation(boil_env):
    _, info = boil_env.reset(options={"variation": 3})
    assert info["variation"] == 3 and info["variation_id"] == 3
    _, info = boil_env.reset(options={"task": "4-2", "variation": 1})
    assert info["task_name"] == "find-non-living-thing" and info["variation_id"] == 1
    env = gym.make("sgd_gym/ScienceWorld-v1", task="melt", split="dev", variation=2)
    try:
        _, info = env.reset(seed=123)
        assert (info["variation"], info["variation_id"], info["split"]) == (2, 16, "dev")
    finally:
        env.close()


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"task": "boiling"}, r"unknown task 'boiling'.*boil \(1-1\)"),
        ({"split": "valid"}, r"unknown split 'valid'.*\['train', 'dev', 'test'\]"),
        ({"variation": 14}, r"variation 14 is out of range.*0\.\.13"),
        ({"variation": -1}, r"out of range"),
        ({"simplifications": "easy,flying"}, r"unknown simplification 'flying'"),
        ({"render_mode": "rgb_array"}, r"unknown render_mode"),
    ],
)
def test_bad_constructor_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match), warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".*initialised with render_mode")  # gym.make's own warning
        gym.make("sgd_gym/ScienceWorld-v1", **kwargs)


def test_bad_actions_keep_env_usable(boil_env):
    boil_env.reset(seed=1)
    for bad in (None, 3, b"look around", ["look around"]):
        with pytest.raises(TypeError, match="action must be a str"):
            boil_env.step(bad)
    with pytest.raises(ValueError, match=f"at most {MAX_ACTION_LENGTH}"):
        boil_env.step("x" * 5000)
    for odd in ("", "xyzzy", "héllo wörld ☃", "open", "\n\t"):
        obs, reward, terminated, truncated, info = boil_env.step(odd)
        assert obs["observation"] == UNKNOWN_ACTION and reward == 0 and not info["valid"], odd
        assert boil_env.observation_space.contains(obs)
    with pytest.raises(ValueError, match="out of range"):
        boil_env.reset(options={"variation": 99})
    with pytest.raises(ValueError, match="unknown reset options"):
        boil_env.reset(options={"variaton": 1})
    obs, _, _, _, info = boil_env.step("look around")
    assert info["valid"] and obs["observation"].startswith("This room is called")


def test_failure_terminates_with_score_zero():
    env = gym.make("sgd_gym/ScienceWorld-v1", task="boil", variation=0)
    try:
        env.reset()
        env.step("open door to kitchen")
        env.step("go to kitchen")
        _, reward, terminated, truncated, info = env.step("focus on sink")
        assert terminated and not truncated and info["failed"] and info["score"] == 0 and reward == 0
    finally:
        env.close()


def test_time_limit_truncates_not_terminates():
    env = gym.make("sgd_gym/ScienceWorld-v1", task="boil", variation=0, max_episode_steps=3)
    try:
        env.reset()
        flags = [env.step("look around")[2:4] for _ in range(3)]
        assert flags == [(False, False), (False, False), (False, True)]
    finally:
        env.close()


# ---------------------------------------------------------------- valid actions, rendering
def test_valid_actions_on_demand_and_in_info():
    env = gym.make("sgd_gym/ScienceWorld-v1", task="boil", variation=0, valid_actions=True, render_mode="ansi")
    try:
        obs, info = env.reset()
        actions = env.unwrapped.accepted_actions()
        assert info["valid_actions"] == actions and info["listing"] == "accepted"
        assert "go to kitchen" in actions and len(actions) == len(set(actions)) > 50
        assert set(actions) <= set(env.unwrapped.valid_actions())
        obs, _, _, _, info = env.step("go to kitchen")
        assert "go to hallway" in info["valid_actions"] and "go to kitchen" not in info["valid_actions"]
        assert env.render() == obs["observation"]
    finally:
        env.close()
    with pytest.warns(DeprecationWarning, match="out of date"):  # Gymnasium points v0 users to v1
        raw = gym.make("sgd_gym/ScienceWorld-v0", task="boil", variation=0, valid_actions=True)  # ScienceWorld's own list
    try:
        _, info = raw.reset()
        assert info["listing"] == "raw" and info["valid_actions"] == raw.unwrapped.valid_actions()
    finally:
        raw.close()
    with pytest.raises(ValueError, match="unknown listing 'all'"):
        gym.make("sgd_gym/ScienceWorld-v1", listing="all")


def test_gold_path_on_demand_keeps_the_episode_state(boil_env):
    _, info = boil_env.reset(options={"variation": 2, "gold_path": True})
    boil_env.reset(options={"variation": 2})
    boil_env.step("go to kitchen")
    before = boil_env.step("pick up thermometer")[0]
    assert boil_env.unwrapped.gold_path() == info["gold_path"]
    backend = boil_env.unwrapped.backend
    assert (backend.look(), backend.inventory()) == (before["look"], before["inventory"])


def test_human_render_prints(capsys):
    env = gym.make("sgd_gym/ScienceWorld-v1", task="boil", variation=0, render_mode="human")
    try:
        env.reset()
        env.step("open door to kitchen")
    finally:
        env.close()
    assert "The door is already open." in capsys.readouterr().out


# ---------------------------------------------------------------- JVM lifecycle
def test_close_is_idempotent_and_ends_the_jvm():
    env = gym.make("sgd_gym/ScienceWorld-v1", task="boil")
    env.reset(seed=0)
    pid = env.unwrapped.backend.pid
    assert psutil.pid_exists(pid)
    env.close()
    env.close()
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_dead_jvm_clear_error_then_reset_restarts(boil_env):
    boil_env.reset(seed=0)
    backend = boil_env.unwrapped.backend
    old = backend.pid
    psutil.Process(old).kill()
    psutil.Process(old).wait(timeout=10)
    with pytest.raises(BackendError, match=r"JVM (is not running|stopped answering).*reset\(\)"):
        boil_env.step("look around")
    obs, info = boil_env.reset(seed=0)
    assert backend.pid != old and obs["observation"].startswith("This room is called")
    assert boil_env.step("look around")[4]["valid"]


@pytest.mark.parametrize("ending", ["pass", "os._exit(0)", "os.kill(os.getpid(), 9)"])
def test_no_orphan_jvm_and_silent_stdout(ending):
    """An interpreter that exits without close() (even killed) leaves no java process; nothing on stdout."""
    script = textwrap.dedent(
        f"""
        import os, gymnasium as gym, sgd_gym
        env = gym.make("sgd_gym/ScienceWorld-v1", task="boil", variation=0)
        obs, info = env.reset(options={{"gold_path": True}})
        for action in info["gold_path"][:10]:
            env.step(action)
        env.unwrapped.valid_actions()
        os.write(2, f"PID={{env.unwrapped.backend.pid}}\\n".encode())
        {ending}
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    found = re.search(r"PID=(\d+)", done.stderr)
    assert found, done.stderr
    assert done.stdout == ""
    pid = int(found.group(1))
    try:
        psutil.Process(pid).wait(timeout=15)
    except psutil.NoSuchProcess:
        pass
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert pid not in java_pids()


# ---------------------------------------------------------------- vector envs and wrappers
def _episode_lengths_match(envs):
    obs, infos = envs.reset(seed=[1, 2])
    assert len(obs["observation"]) == 2
    obs, rewards, terminated, truncated, infos = envs.step(("look around", "xyzzy"))
    assert rewards.shape == (2,) and list(infos["valid"]) == [True, False]


def test_sync_vector_env():
    envs = gym.make_vec("sgd_gym/ScienceWorld-v1", num_envs=2, vectorization_mode="sync", task="boil")
    try:
        _episode_lengths_match(envs)
    finally:
        envs.close()


def test_async_vector_env_without_shared_memory():
    envs = gym.make_vec(
        "sgd_gym/ScienceWorld-v1", num_envs=2, vectorization_mode="async", vector_kwargs={"shared_memory": False}, task="boil"
    )
    try:
        _episode_lengths_match(envs)
    finally:
        envs.close()


def test_record_episode_statistics():
    env = RecordEpisodeStatistics(gym.make("sgd_gym/ScienceWorld-v1", task="find-non-living-thing", variation=0))
    try:
        _, info = env.reset(options={"gold_path": True})
        for action in info["gold_path"]:
            _, _, terminated, truncated, step_info = env.step(action)
        episode = step_info["episode"]
        assert terminated and episode["r"] == 100 - info["score"] and episode["l"] == len(info["gold_path"])
    finally:
        env.close()


def test_jvm_heap_is_capped():
    env = gym.make("sgd_gym/ScienceWorld-v1", task="boil", jvm_heap="512m")
    try:
        env.reset(seed=0)
        cmdline = psutil.Process(env.unwrapped.backend.pid).cmdline()
        assert "-Xmx512m" in cmdline
    finally:
        env.close()
