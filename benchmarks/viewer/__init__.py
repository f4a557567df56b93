"""The episode viewer (``sgd view``): runs side by side, step by step, from their records and replays.

``replays`` plays a record's actions again in the env (observations are never stored) and caches the result;
``data`` puts the runs' episodes side by side; ``page`` writes the self-contained HTML page; ``terminal`` prints one
episode as text.
"""
