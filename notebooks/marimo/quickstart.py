# ruff: noqa: B018 - a marimo cell shows its last expression: the handles and the sweep end their cells on purpose
import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium")


@app.cell
def _():
    import marimo as mo

    return (mo,)


@app.cell
def _(mo):
    mo.md(r"""
    # Quickstart: Runway generations in marimo

    `runway_nb.generate(...)` sends one generation and returns its **handle** at once; a cell that
    ends with the handle shows a **live view** (status, progress, time left, a Cancel button) that
    turns into the result, playing inline, when the task ends. `runway_nb.compare(...)` sends every
    combination of the options given as lists and shows them side by side in a **grid**.

    With no API key, runway-nb talks to its **built-in simulator** of Runway's API: it runs offline
    in this notebook's process and spends no credits. Set `RUNWAYML_API_SECRET` before starting
    marimo to use Runway itself (that spends credits).

    (The `%%runway` magic and the form panel are Jupyter-only; in marimo you use the functions.)
    """)
    return


@app.cell
def _():
    import os

    os.environ.setdefault("RUNWAY_NB_SIM_SPEED", "20")  # the simulator's clock at 20x for demos (Runway ignores it)

    import runway_nb
    from runway_nb.data import sample_image

    return runway_nb, sample_image


@app.cell
def _(mo):
    mo.md(r"""
    ## 1. Text to image
    """)
    return


@app.cell
def _(runway_nb):
    poster = runway_nb.generate(
        "A red and white lighthouse on a cliff at dusk, a small sailboat on a calm sea, flat poster style",
        model="gen4_image",
        ratio="1920:1080",
    )
    poster
    return (poster,)


@app.cell
def _(mo):
    mo.md(r"""
    ## 2. Image to video

    `image=` takes a path, an `https://` URL, bytes or a PIL image: here a small picture shipped with
    runway-nb.
    """)
    return


@app.cell
def _(runway_nb, sample_image):
    clip = runway_nb.generate(
        "Slow dolly in towards the lighthouse, its beam sweeping across the evening sky",
        model="gen4_turbo",
        image=sample_image(),
        ratio="1280:720",
        duration=5,
    )
    clip
    return (clip,)


@app.cell
def _(mo):
    mo.md(r"""
    ## 3. Two models side by side

    A list makes an option vary: one task per model, with one seed shared by both, so the grid
    compares the models and nothing else.
    """)
    return


@app.cell
def _(runway_nb, sample_image):
    models = runway_nb.compare(
        "The camera slowly pushes in on the lighthouse as waves roll in",
        model=["gen4_turbo", "gen4.5"],
        image=sample_image(),
        ratio="1280:720",
        duration=5,
    )
    models
    return (models,)


@app.cell
def _(mo):
    mo.md(r"""
    ## 4. Where the results are

    `await handle` waits on the event loop (the live views above keep updating meanwhile). Every
    output is kept in `./runway_outputs/` as soon as its task succeeds, so the results keep showing
    after Runway's output URLs expire (24 to 48 h).
    """)
    return


@app.cell
async def _(clip, mo, models, poster):
    for handle in (poster, clip, *models.tasks):
        await handle
    mo.md("\n".join(f"- `{h.id}` {h.status}: " + ", ".join(f"`{p.name}`" for p in h.files)
                    for h in (poster, clip, *models.tasks)))
    return


if __name__ == "__main__":
    app.run()
