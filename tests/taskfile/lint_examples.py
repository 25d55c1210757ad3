"""Realistic task files for the lint tests, built from the kaggle-benchmarks SDK skill examples.

`FULLY_CORRECT` files must give no finding at all; `CORRECT` files (valid and pushable, with
something worth a note) must give no error or warning.
"""

from __future__ import annotations

SIMPLE = """# %%
import kaggle_benchmarks as kbench

# %%
@kbench.task(name="geography_quiz")
def geography_quiz(llm):
    response = llm.prompt("What is the longest river in the world?")
    kbench.assertions.assert_contains_regex(
        r"(?i)nile", response,
        expectation="Should mention the Nile river."
    )

# %%
geography_quiz.run(kbench.llm)
"""

DATASET_EVALUATE = """# %%
# !pip install -q pandas  # Uncomment on Kaggle
import kaggle_benchmarks as kbench
import pandas as pd

# %%
@kbench.task()
def riddle_solver(llm, riddle: str, answer_keyword: str) -> bool:
    response = llm.prompt(riddle)
    is_correct = answer_keyword.lower() in response.lower()
    kbench.assertions.assert_true(is_correct)
    return is_correct

# %%
df = pd.DataFrame({
    "riddle": ["I have cities but no houses. What am I?", "What has an eye but cannot see?"],
    "answer_keyword": ["map", "needle"],
})
runs = riddle_solver.evaluate(llm=[kbench.llm], evaluation_data=df, n_jobs=3)
runs.as_dataframe()
"""

SUBTASKS = """# %%
import kaggle_benchmarks as kbench
import pandas as pd

# %%
@kbench.task(name="math_qa", store_task=False)
def math_qa(llm, question, expected) -> bool:
    answer = llm.prompt(question + "\\nAnswer with just the number.", schema=int)
    kbench.assertions.assert_equal(expected, answer)
    return answer == expected

# %%
df = pd.DataFrame([
    {"question": "What is 15% of 200?", "expected": 30},
    {"question": "What is 7 × 8?", "expected": 56},
])

@kbench.task(name="math_benchmark")
def math_benchmark(llm) -> float:
    results = math_qa.evaluate(llm=[llm], evaluation_data=df, n_jobs=2)
    scores = results.as_dataframe()
    return float(scores.result.mean())

# %%
math_benchmark.run(kbench.llm)
"""

MULTI_TURN = """# %%
import kaggle_benchmarks as kbench
from dataclasses import dataclass

# %%
@kbench.task(name="twenty_questions")
def twenty_questions(llm, judge_llm, target: str) -> bool:
    @dataclass
    class Response:
        question: str = ""
        guess: str = ""

    response = llm.prompt("Let's play 20 questions! Ask yes/no questions.", schema=Response)
    for _ in range(20):
        if response.guess:
            kbench.assertions.assert_in(target, response.guess.lower())
            return True
        with kbench.chats.new("Answering"):
            yes = judge_llm.prompt(f"I'm thinking of {target}. {response.question}", schema=bool)
        response = llm.prompt(f"{'Yes' if yes else 'No'}. Guess or ask another?", schema=Response)
    return False

# %%
twenty_questions.run(kbench.llm, kbench.judge_llm, target="dog")
"""

ASYNC_AND_LOOP = """# %%
import kaggle_benchmarks as kbench
from kaggle_benchmarks import task

# %%
@task(name="Async greeting")
async def async_greeting(llm):
    response = llm.prompt("Say hello.")
    kbench.assertions.assert_not_empty(response)

@task("Second task")
def second(llm) -> float:
    return 0.5

# %%
for each_task in (async_greeting, second):
    each_task.run(kbench.llm)
"""

RUN_IN_EXPRESSIONS = """# %%
import kaggle_benchmarks as kbench

# %%
@kbench.task()
def scored(llm) -> float:
    return 1.0

@kbench.task()
def listed(llm, q: str):
    kbench.assertions.assert_not_empty(llm.prompt(q))

@kbench.task()
def helper_run(llm):
    kbench.assertions.assert_true(True)

def main():
    helper_run.run(kbench.llm)

# %%
r = scored.run(kbench.llm)
print(r.passed, r.result)
runs = [listed.run(llm, q="hi") for llm in kbench.llms]
main()
"""

STRUCTURED_MULTIMODAL = '''# %%
import kaggle_benchmarks as kbench
from kaggle_benchmarks.content_types import images
import pydantic

# %%
class Review(pydantic.BaseModel):
    sentiment: str = pydantic.Field(description="positive, negative, or neutral")
    score: float

HELP = """
!this line is text inside a string, not a shell escape
%neither is this
"""

@kbench.task(name="describe_image")
def describe_image(llm) -> dict:
    img = images.from_url("https://example.com/cat.jpg")
    review = llm.prompt("Describe and review this image", image=img, schema=Review)
    return {"sentiment": review.sentiment, "score": review.score}

# %%
describe_image.run(kbench.llm)
'''

RESILIENT = """# %%
import kaggle_benchmarks as kbench
import pandas as pd

# %%
@kbench.task(name="per_sample_qa", store_task=False)
def per_sample_qa(llm, question: str, answer: str) -> dict:
    response = llm.prompt(question)
    return {"is_correct": answer.lower() in response.lower()}

@kbench.task(name="resilient_qa_benchmark")
def resilient_qa_benchmark(llm, df) -> dict:
    with kbench.client.enable_cache():
        results = per_sample_qa.evaluate(
            llm=[llm], evaluation_data=df, n_jobs=20,
            on_failure="continue", max_attempts=3, retry_delay=30,
        )
    completed = results.completed_runs
    accuracy = float(completed.as_dataframe().result.str.get("is_correct").mean())
    return {"accuracy": accuracy, "errored": len(results.errored_runs)}

# %%
df = pd.DataFrame([{"question": "2+2?", "answer": "4"}])
resilient_qa_benchmark.run(kbench.llm, df)
"""

RETURN_NONE = """# %%
import kaggle_benchmarks as kbench

# %%
@kbench.task(name="early exit")
def early_exit(llm):
    response = llm.prompt("Anything?")
    if not response:
        return None
    if response == "x":
        return
    kbench.assertions.assert_not_empty(response)

    def local_helper():
        return 42  # a nested function's return is not the task's

early_exit.run(kbench.llm)
"""

FULLY_CORRECT = {
    "simple": SIMPLE,
    "dataset evaluate": DATASET_EVALUATE,
    "subtasks store_task=False": SUBTASKS,
    "multi-turn": MULTI_TURN,
    "async task and loop run": ASYNC_AND_LOOP,
    "runs inside expressions": RUN_IN_EXPRESSIONS,
    "structured and multimodal": STRUCTURED_MULTIMODAL,
    "resilient evaluate": RESILIENT,
    "return None": RETURN_NONE,
}

# Pushable and correct, with something worth an info note.
CORRECT = {
    **FULLY_CORRECT,
    "benchmark alias next to task": SIMPLE
    + """
# %%
@kbench.benchmark(name="also_a_task")
def also_a_task(llm):
    kbench.assertions.assert_true(True)

also_a_task.run(kbench.llm)
""",
    "no cell markers": SIMPLE.replace("# %%\n", ""),
    "subtask without store_task=False": """# %%
import kaggle_benchmarks as kbench

@kbench.task(name="inner")
def inner(llm) -> bool:
    return True

@kbench.task(name="outer")
def outer(llm) -> float:
    runs = [inner.run(llm) for _ in range(3)]
    return sum(r.passed for r in runs) / len(runs)

outer.run(kbench.llm)
""",
    "bare assert": SIMPLE.replace(
        '    response = llm.prompt("What is the longest river in the world?")\n',
        '    response = llm.prompt("What is the longest river in the world?")\n'
        '    assert "Nile" in response\n',
    ),
}
