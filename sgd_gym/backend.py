"""The ScienceWorld JVM: start, fast calls, restart, close.

Stock ``ScienceWorldEnv.step`` costs ~100 ms here; the JVM's own step costs ~10 ms. The
difference comes from three things, all fixed here:

* every stock step also fetches look, inventory, task description and the full valid-action
  list; we fetch only what the caller asks for;
* a ``java.util.List`` crossing py4j costs one round trip per element; we join lists into one
  string on the JVM side (one round trip);
* py4j's JVM sockets leave Nagle's algorithm on, so any reply larger than one buffered write
  (e.g. the ~30 kB valid-action list) waits for the client's delayed ACK: a 40 ms stall on
  most large replies. We switch on ``TCP_NODELAY`` on the JVM side of every connection.

ScienceWorld lists objects (and orders some dynamics, e.g. heat transfer, and its gold-path
search) by iterating hash sets keyed on Java identity hash codes, which HotSpot draws from a
per-thread random stream: the same variation loaded twice in one JVM can list a room's objects
in another order and yield another gold path. With ``deterministic=True`` (the default) the JVM
runs with ``-XX:hashCode=2`` (every identity hash is equal), which makes every load of a
variation identical whatever ran before, at ~1.5x the cost of a JVM step. Separately, the very
first load in a JVM draws differently from ScienceWorld's seeded random generator (one-time
initialisation), so its gold path can differ from later loads; ``start()`` therefore primes each
new JVM with one throwaway load. Last, the gold-path search caches room-to-room paths JVM-wide
drawn for whichever variation came first (a worker that had run chemistry-mix gave "boil lead" a
12-step detour through the foundry); ``load`` empties that cache before each gold-path load.

ScienceWorld lists actions that its own parser then rejects with "No known action matches that input."
(35 of 60 sampled in the art studio of chemistry-mix-paint-secondary-color; 15% of the listed actions
sampled along the gold paths of the 30 tasks, benchmarks/RESULTS.md). The list
(``getValidActionObjectCombinations``, ``AgentInterface.scala``) is built over
``InputParser.collectObjects(room)``, which, as its comment says, "does not respect container
boundaries": it walks into closed cupboards, fridges and drawers. The parser (``InputParser.parse``)
resolves names only among ``collectAccessibleObjects(room)`` plus the agent's inventory, which stop at
closed containers. So every listed action that names an object inside a closed container (``move cup
containing blue paint in cupboard to hallway``, ``focus on drawer in paint cupboard`` while the paint
cupboard is closed) is rejected, and the unique names the list gives the reachable objects are longer
than they need be (``cup containing red paint in art studio``). ``accepted_actions`` keeps the listed
actions whose objects the parser can reach (teleport, an oracle action, resolves its room among every
object of the world), in one listing call plus one object-set call. A listed name can also be shared by
several reachable objects (the three pollen grains of three pea flowers): the parser then asks which one
(the ambiguity prompt); those actions are kept, since the game carries them out once the prompt is
answered and its own gold paths rely on them.

The JVM also prints ~9 kB of debug text per step; we point ``System.out`` at a null stream
before the simulator is created, so nothing is printed or piped. The heap is capped (default
``1g``, ``SGD_GYM_JVM_HEAP`` to change), and the JVM dies with its Python process
(py4j's ``--die-on-broken-pipe`` plus an exit hook), so no java process outlives its owner.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import weakref
from dataclasses import dataclass

import psutil
from py4j.java_gateway import GatewayParameters, JavaGateway, launch_gateway
from py4j.protocol import Py4JError, Py4JJavaError, Py4JNetworkError

# py4j logs every failed connection attempt at ERROR level; a dead JVM is reported by BackendError instead.
logging.getLogger("py4j").setLevel(logging.CRITICAL)

JVM_HEAP_ENV = "SGD_GYM_JVM_HEAP"
JVM_OPTIONS_ENV = "SGD_GYM_JVM_OPTIONS"  # extra JVM options, space-separated
JVM_TIMEOUT_ENV = "SGD_GYM_JVM_TIMEOUT"  # seconds one JVM call may take before the JVM counts as hung
DEFAULT_TIMEOUT = 120.0  # generous: a gold-path load takes a few seconds, a step milliseconds
_PRIMING_TASK = "find-non-living-thing"
DEFAULT_HEAP = "1g"
_SEPARATOR = "\n"
_LISTING_SEED = 20240503  # any fixed seed
_RANDOM_MULTIPLIER = 0x5DEECE66D  # java.util.Random.setSeed(s) stores s ^ this
TELEPORT_PREFIX = "teleport to "  # ScienceWorld's one oracle action: its target is looked up among all objects
_OBJECT_ID = re.compile(r"ObjectID \((\d+), name: ")  # EnvObject.toString() starts with this
_ASSIGNMENT = re.compile(r"(\w+) -> ObjectID \((\d+), name: ")  # one entry of a Map[String, EnvObject]
_JAVA_INT = re.compile(r"[+-]?[0-9]+")  # what Integer.parseInt reads
ACCEPTED, AMBIGUOUS, REJECTED = "accepted", "ambiguous", "rejected"


def answer_is_carried_out(answer: str, choices: int) -> bool:
    """Whether ScienceWorld carries out ``answer`` to an ambiguity prompt with ``choices`` readings.

    ``InputParser.resolveAmbiguity`` reads the answer with ``Integer.parseInt``: a number in
    ``0..choices-1`` runs that reading; anything else ("look around", "", "7") cancels the prompt,
    and the command is dropped ("Unknown action. Type 'help' ...") while the world still takes a turn.
    """
    return bool(_JAVA_INT.fullmatch(answer)) and 0 <= int(answer) < choices


@dataclass(frozen=True)
class ParseResult:
    """What the game's parser makes of a command (``ScienceWorldBackend.parse``), without carrying it out.

    Attributes:
        verdict: ``"accepted"`` (one reading: the game carries it out), ``"ambiguous"`` (several: the game
            asks which one) or ``"rejected"`` ("No known action matches that input.").
        action_id: the template of the (first) reading (``ActionDefinitions.ACTION_ID_*``), or None.
        object_ids: the uuids the (first) reading names, agent excluded, sorted.
    """

    verdict: str
    action_id: int | None = None
    object_ids: tuple[int, ...] = ()


class BackendError(RuntimeError):
    """The ScienceWorld JVM is not running or stopped answering."""


@dataclass(frozen=True)
class ListedAction:
    """One entry of ScienceWorld's valid-action list, with what it refers to.

    Attributes:
        text: the command, as in ``valid_actions()``.
        template_id: ScienceWorld's action template (``ActionDefinitions.ACTION_ID_*``; 100+ while
            the parser waits for an answer to an ambiguity prompt).
        object_ids: the uuids of the objects the command names, in template order.
    """

    text: str
    template_id: int
    object_ids: tuple[int, ...]

    @property
    def oracle(self) -> bool:
        """Teleport, the one action whose target the parser looks up among every object of the world."""
        return self.text.startswith(TELEPORT_PREFIX)

    def reachable(self, object_ids: set[int]) -> bool:
        """Whether the parser can resolve this action's objects, given the ids it can reach (``reachable_object_ids``)."""
        return self.oracle or object_ids.issuperset(self.object_ids)


@dataclass
class StepResult:
    """What one JVM step returns.

    Attributes:
        observation: the game's reply to the action.
        score: the raw score in -100..100 (negative once the task failed).
        completed: ScienceWorld's completion flag.
        moves: number of moves so far.
    """

    observation: str
    score: int
    completed: bool
    moves: int


def _running(process: subprocess.Popen) -> bool:
    """Whether ``process`` still runs.

    ``Popen.poll()`` alone is not enough: py4j's ProcessConsumer thread sits in ``process.wait()``
    holding the Popen's wait lock, and while it does, ``poll()`` answers ``None`` for a process
    that has already been killed. The process table is asked as well.
    """
    if process.poll() is not None:
        return False
    try:
        return psutil.Process(process.pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _kill(process: subprocess.Popen, gateway: JavaGateway | None = None) -> None:
    """End a JVM process, politely first."""
    if gateway is not None:
        try:
            gateway.close()
        except Exception:  # noqa: BLE001 - the JVM may already be gone
            pass
    if process.poll() is not None:
        return
    try:
        if process.stdin is not None and not process.stdin.closed:
            process.stdin.close()  # --die-on-broken-pipe makes the JVM exit on EOF
        process.wait(timeout=2)
    except (OSError, subprocess.TimeoutExpired):
        pass
    if process.poll() is None:
        process.kill()
        process.wait(timeout=10)


class ScienceWorldBackend:
    """One ScienceWorld simulator in its own JVM (the simulator keeps global state).

    Args:
        heap: the JVM's maximum heap (``-Xmx``), e.g. ``"1g"``; defaults to ``$SGD_GYM_JVM_HEAP`` or 1g.
        deterministic: pin identity hash codes so that episodes do not depend on the JVM's history.
        java: the java executable.
        timeout: seconds one call may wait for the JVM's answer (default ``$SGD_GYM_JVM_TIMEOUT`` or 120). A JVM
            that does not answer in time (stopped, deadlocked) is killed, and the call raises ``BackendError``; the
            next ``start`` (an env's next ``reset``) starts a new one.
    """

    def __init__(
        self, heap: str | None = None, deterministic: bool = True, java: str = "java", timeout: float | None = None
    ) -> None:
        self.timeout = float(timeout if timeout is not None else os.environ.get(JVM_TIMEOUT_ENV, DEFAULT_TIMEOUT))
        if not self.timeout > 0:
            raise ValueError(f"the JVM timeout must be a positive number of seconds, got {self.timeout!r}")
        self.heap = heap or os.environ.get(JVM_HEAP_ENV, DEFAULT_HEAP)
        self.deterministic = bool(deterministic)
        self.java = java
        self._gateway: JavaGateway | None = None
        self._process: subprocess.Popen | None = None
        self._server = None
        self._string_join = None
        self._random = self._random_state = self._gold_path_cache = None
        self._parser_module = self._agent = self._interface = None
        self._finalizer: weakref.finalize | None = None

    # ---------------------------------------------------------------- lifecycle
    @property
    def alive(self) -> bool:
        """Whether the JVM process is running."""
        return self._process is not None and _running(self._process)

    @property
    def pid(self) -> int | None:
        """The JVM's process id, or ``None`` when not started."""
        return None if self._process is None else self._process.pid

    def start(self) -> None:
        """Start the JVM (again, if it died); no-op when it is running."""
        if self.alive and self._server is not None:
            return
        self.close()
        from scienceworld.constants import BASEPATH, JAR_PATH

        options = [f"-Xmx{self.heap}", "-XX:+UseSerialGC", "--add-opens", "java.base/java.util=ALL-UNNAMED"]
        if self.deterministic:
            options += ["-XX:+UnlockExperimentalVMOptions", "-XX:hashCode=2"]
        options += os.environ.get(JVM_OPTIONS_ENV, "").split()
        try:
            port, process = launch_gateway(
                classpath=JAR_PATH,
                die_on_exit=True,
                cwd=BASEPATH,
                javaopts=options,
                java_path=self.java,
                return_proc=True,
            )
        except FileNotFoundError as error:
            raise BackendError(
                f"cannot start the ScienceWorld JVM: {self.java!r} was not found; install a Java runtime "
                "(Debian/Ubuntu: apt-get install -y default-jre-headless)"
            ) from error
        self._process = process
        parameters = GatewayParameters(port=port, auto_field=True, read_timeout=self.timeout)
        self._gateway = JavaGateway(gateway_parameters=parameters, java_process=process)
        self._finalizer = weakref.finalize(self, _kill, process, self._gateway)
        jvm = self._gateway.jvm
        null_stream = jvm.java.io.PrintStream(jvm.java.io.OutputStream.nullOutputStream())
        jvm.java.lang.System.setOut(null_stream)
        self._server = jvm.scienceworld.runtime.pythonapi.PythonInterface()
        self._string_join = jvm.java.lang.String.join  # looked up once: each lookup is a round trip
        self._set_no_delay()
        self._random, self._random_state = self._global_random(jvm)
        path_finder = getattr(getattr(jvm.scienceworld.goldagent, "PathFinder$"), "MODULE$")
        self._gold_path_cache = path_finder.precomputedExhaustivePaths()
        self._parser_module = getattr(getattr(jvm.scienceworld.input, "InputParser$"), "MODULE$")
        self.load(_PRIMING_TASK, 0, "easy", gold_path=True)
        self.step("look around")

    def _set_no_delay(self) -> None:
        """Switch on TCP_NODELAY on the JVM side of every py4j connection (see module docstring)."""
        server = self._gateway.java_gateway_server
        field = server.getClass().getDeclaredField("connections")
        field.setAccessible(True)
        for connection in field.get(server):
            klass = connection.getClass()
            while klass is not None:
                try:
                    socket_field = klass.getDeclaredField("socket")
                    break
                except Py4JError:
                    klass = klass.getSuperclass()
            else:  # pragma: no cover - py4j changed its internals: stay correct, only slower
                continue
            socket_field.setAccessible(True)
            socket_field.get(connection).setTcpNoDelay(True)

    @staticmethod
    def _global_random(jvm) -> tuple:
        """ScienceWorld's global generator (scala.util.Random's java.util.Random) and its ``seed`` field."""
        generator = getattr(getattr(jvm.scala.util, "Random$"), "MODULE$").self()
        field = generator.getClass().getDeclaredField("seed")
        field.setAccessible(True)
        return generator, field

    def close(self) -> None:
        """Stop the JVM; safe to call any number of times."""
        gateway, process = self._gateway, self._process
        self._gateway = self._server = self._string_join = self._random = self._random_state = None
        self._gold_path_cache = self._parser_module = self._agent = self._interface = None
        self._process = None
        if process is not None:
            _kill(process, gateway)
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None

    # ---------------------------------------------------------------- calls
    def _call(self, method: str, *args, target=None):
        """Call a method of the simulator (or of ``target``), turning a dead JVM into a clear BackendError."""
        # poll() is the cheap check on this hot path; a death it misses shows up as a failed call below
        if self._server is None or self._process.poll() is not None:
            code = None if self._process is None else self._process.poll()
            raise BackendError(
                "the ScienceWorld JVM is not running"
                + (f" (it exited with code {code})" if code is not None else "")
                + "; call env.reset() to restart it"
            )
        try:
            return getattr(self._server if target is None else target, method)(*args)
        except Py4JJavaError:
            raise  # an exception thrown inside the simulator: the JVM is fine
        except Py4JError as error:
            # py4j reports a failed retry on a dead connection as a bare Py4JError, not a network error
            if isinstance(error, Py4JNetworkError) or not _running(self._process):
                hung = _running(self._process)
                self.close()  # a JVM that does not answer is killed: the next start() begins afresh
                reason = f"did not answer within {self.timeout:g} s" if hung else "stopped answering"
                raise BackendError(
                    f"the ScienceWorld JVM {reason} during {method}(); call env.reset() to restart it"
                ) from error
            raise

    def _join(self, java_list) -> list[str]:
        """Bring a java List<String> over in one round trip by joining it on the JVM side."""
        joined = self._call("__call__", _SEPARATOR, java_list, target=self._string_join)
        return joined.split(_SEPARATOR) if joined else []

    def load(self, task: str, variation_id: int, simplifications: str, gold_path: bool = False) -> None:
        """Load a task variation (resets the game). Raises ``ValueError`` on a JVM-side error.

        ScienceWorld's gold-path search draws a room-visiting order at random and caches it JVM-wide,
        keyed only on the start room (``PathFinder.precomputedExhaustivePaths``), so a variation's
        gold path depended on which variations the JVM had loaded before. The cache is emptied
        before every gold-path load (~0.2 s more per load): the path is the variation's own.
        """
        if gold_path:
            self._call("clear", target=self._gold_path_cache)
        self._agent = self._interface = None  # a load makes a new world and a new agent
        message = self._call("load", task, int(variation_id), simplifications, bool(gold_path))
        if message and message.startswith("ERROR"):
            raise ValueError(message)

    def step(self, action: str) -> StepResult:
        """Take one action; returns observation, raw score, completion flag and moves."""
        observation = self._call("step", action)
        score = int(round(100 * self._call("getScore")))
        return StepResult(observation, score, bool(self._call("getCompleted")), int(self._call("getNumMoves")))

    def look(self) -> str:
        """The room description (a free action: no move is spent)."""
        return self._call("freeActionLook")

    def inventory(self) -> str:
        """The inventory text (a free action)."""
        return self._call("freeActionInventory")

    def task_description(self) -> str:
        """The current task description."""
        return self._call("getTaskDescription")

    def _fixed_listing_seed(self, call: str):
        """Run simulator method ``call`` with the world's random generator set to a fixed state, then restore it.

        ScienceWorld names each object by a referent drawn from its global random generator, so two
        listings of one state differ, and listing consumes draws that the world's own randomness
        (wandering animals, ...) would otherwise get. Swapping the generator's state for a fixed one
        makes the listing a function of the state that never changes the episode.
        """
        saved = self._call("get", self._random, target=self._random_state)  # the raw 48-bit state
        self._call("setSeed", _LISTING_SEED, target=self._random)
        try:
            return self._call(call)
        finally:
            self._call("setSeed", saved ^ _RANDOM_MULTIPLIER, target=self._random)  # setSeed scrambles: undo it

    def valid_actions(self) -> list[str]:
        """ScienceWorld's valid action-object combinations in the current state, in its order (sorted).

        The raw list: it includes actions the parser rejects (see the module docstring and
        ``accepted_actions``). A function of the state; listing never changes the episode.
        """
        return self._join(self._fixed_listing_seed("getValidActionObjectCombinations"))

    def listed_actions(self) -> list[ListedAction]:
        """The entries of ``valid_actions()`` (same texts, same order) with their template and object ids.

        Raises:
            BackendError: the simulator's JSON could not be read (it is built without escaping, so a
                quote in an object name would break it).
        """
        text = self._fixed_listing_seed("getValidActionObjectCombinationsJSON")
        try:
            entries = json.loads(text)["validActions"]
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise BackendError(f"cannot read ScienceWorld's action listing ({error}): {text[:200]!r}") from error
        listed = [ListedAction(e["action"], int(e["template_id"]), tuple(int(i) for i in e["obj_ids"])) for e in entries]
        listed.sort(key=lambda action: action.text)  # the Java side sorts the plain list the same way (UTF-16 order)
        return listed

    def _agent_interface(self):
        """ScienceWorld's ``AgentInterface`` of the loaded task (a new one each load)."""
        if self._interface is None:
            interface = self._call("agentInterface")
            if interface.isEmpty():
                raise BackendError("no task is loaded: call load() first")
            self._interface = interface.get()
        return self._interface

    def _world_agent(self):
        if self._agent is None:
            self._agent = self._agent_interface().agent()
        return self._agent

    def reachable_object_ids(self) -> set[int]:
        """The uuids of the objects the parser can name now: what ``InputParser.parse`` searches.

        That is ``collectAccessibleObjects`` of the agent's room and of the agent (its inventory),
        with hidden objects: everything in the room except the contents of closed containers.
        """
        agent = self._world_agent()
        room = self._call("getContainer", target=agent).get()
        module = self._parser_module
        objects = self._call("collectAccessibleObjects", room, True, target=module)
        objects = self._call("$plus$plus", self._call("collectAccessibleObjects", agent, True, target=module), target=objects)
        ids = {int(uuid) for uuid in _OBJECT_ID.findall(self._call("toString", target=objects))}
        if len(ids) != self._call("size", target=objects):  # a subclass printed itself otherwise: ask each object
            iterator = self._call("iterator", target=objects)
            ids = set()
            while iterator.hasNext():
                ids.add(int(iterator.next().uuid()))
        return ids

    def accepted_actions(self) -> list[str]:
        """The entries of ``valid_actions()`` that the parser accepts: those whose objects it can reach.

        While the parser waits for an answer to an ambiguity prompt the list is the answers
        (``0``, ``1``, ...), all accepted. Costs one listing call (with object ids) and one
        object-set call: a few ms more than ``valid_actions()``.
        """
        listed = self.listed_actions()
        if any(action.template_id >= 100 for action in listed):  # the ambiguity prompt's numbered answers
            return [action.text for action in listed]
        reachable = self.reachable_object_ids()
        return [action.text for action in listed if action.reachable(reachable)]

    def parse(self, command: str) -> ParseResult:
        """Run the game's parser on ``command`` as ``step`` would, without carrying anything out.

        This is the ground truth that ``accepted_actions`` approximates structurally; it costs ~10 ms per
        command (the parser tries every template against every reachable object), so it is for
        measurements and tests, not for every step. While the game waits for an answer to an ambiguity
        prompt, a number in range is accepted and anything else rejected (see ``answer_is_carried_out``).
        The parser's state is left as it was.
        """
        interface = self._agent_interface()
        parser = interface.inputParser()
        if parser.isInAmbiguousState():
            carried = answer_is_carried_out(command, parser.getNumAmbiguousMatches())
            return ParseResult(ACCEPTED if carried else REJECTED)
        agent = self._world_agent()
        room = agent.getContainer().get()
        universe, monitor, goals = interface.universe(), interface.objMonitor(), interface.task().goalSequence()
        result = self._call("parse", command, room, universe, agent, monitor, goals, room, target=parser)
        if result._1():
            action = result._4().get()
            return ParseResult(ACCEPTED, int(action.action().uniqueActionID()), self._assigned(action.assignments()))
        if not parser.isInAmbiguousState():
            return ParseResult(REJECTED)
        try:
            first = parser.lastAmbiguousMatches().get()[0]
            return ParseResult(AMBIGUOUS, int(first.actionRequestDef().get().uniqueActionID()), self._assigned(first.varLUT()))
        finally:
            parser.clearAmbiguousState()

    @staticmethod
    def _assigned(assignments) -> tuple[int, ...]:
        """The uuids of a Scala ``Map[String, EnvObject]`` of an action's slots, agent excluded, sorted."""
        return tuple(sorted(int(uuid) for name, uuid in _ASSIGNMENT.findall(assignments.toString()) if name != "agent"))

    def gold_actions(self) -> list[str]:
        """The gold path of the loaded variation (it must have been loaded with ``gold_path=True``)."""
        return self._join(self._call("getGoldActionSequence"))

    def goal_progress(self) -> str:
        """ScienceWorld's goal-progress text (useful for debugging)."""
        return self._call("getGoalProgressStr")

    def __enter__(self) -> ScienceWorldBackend:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()
