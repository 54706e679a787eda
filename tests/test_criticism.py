"""Model criticism: SBC replicates give sane ranks; the rank/ECDF-band code
finds uniform ranks uniform and overconfident ones not (conjugate normal toy);
the simultaneous band holds its level; integrated leave-one-participant-out
likelihood equals the closed form; the aim 1 builder's LOD substitutions."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import stats

from ketamine_nif import criticism
from ketamine_nif.models import TrajectoryPriors, build_nif_trajectory_model
from ketamine_nif.models.trajectory import substituted


def test_sbc_replicate_returns_sane_ranks():
    rows = criticism.sbc_replicate(seed=3, participants=12, markers=2, draws=60, tune=100, chains=1, thin=1)
    table = pd.DataFrame(rows)
    expected = {f"log_ratio[marker{m},{v}]" for m in (1, 2) for v in ("24h", "day3", "day5")} | {
        f"{name}[marker{m}]" for name in ("mu", "tau", "sigma") for m in (1, 2)}
    assert set(table["parameter"]) == expected
    assert (table["draws"] == 60).all()
    assert table["rank"].between(0, 60).all()
    assert np.isfinite(table["truth"]).all() and (table.loc[table["parameter"].str.startswith("tau"), "truth"] > 0).all()
    # the second of two markers has a detection limit fixed in advance, the same in every replicate
    other = pd.DataFrame(criticism.sbc_replicate(seed=4, participants=12, markers=2, draws=60, tune=100, chains=1, thin=1))
    assert table["log_lod"].iloc[0] == other["log_lod"].iloc[0] == criticism.sbc_log_lod(1.0, 0.25)
    assert 0 <= table["censored_share"].iloc[0] <= 0.5  # only the second of two markers can be censored


def test_the_coupling_sbc_draw_is_one_joint_draw_from_the_models_prior():
    """The data of an aim 2 SBC replicate, rebuilt from the prior draw by the
    model's equations written out here: each NIF value is the person's level
    plus the visit's change plus noise of the drawn SD (so the grid's cells
    went to the right participant, marker and visit); each MADRS rating is
    the outcome model's mean, with the couplings to the drawn grid, plus a
    person intercept and noise of the drawn SDs; values under the fixed
    limit are censored there."""
    participants, markers = 133, 2
    data, prior = criticism.coupling_sbc_data(seed=5, participants=participants, markers=markers, censored_share=0.25)
    draw = {name: np.asarray(prior[name]).squeeze(axis=(0, 1)) for name in prior.data_vars}
    contrast = data.arm_contrast
    change = np.concatenate([np.zeros((markers, participants, 1)), draw["nif_delta"][:, None, :]
                             + contrast[None, :, None] * draw["nif_arm"][:, None, :]], axis=2)
    mean = draw["nif_level"][:, :, None] + change  # (marker, participant, visit)
    grid = np.asarray(prior["nif_missing"]).reshape(markers, participants, 4)
    seen = ~data.nif_censored
    residual = grid[data.nif_marker, data.nif_person, data.nif_visit] - mean[data.nif_marker, data.nif_person, data.nif_visit]
    for m in range(markers):  # the residuals have the drawn SD (a scrambled grid would not)
        assert residual[data.nif_marker == m].std() == pytest.approx(draw["nif_sigma"][m], rel=0.1)
    np.testing.assert_array_equal(data.nif_log[seen], grid[data.nif_marker, data.nif_person, data.nif_visit][seen])
    lod = criticism.sbc_log_lod(1.0, 0.25)
    assert (data.nif_log[data.nif_censored] == lod).all() and (data.nif_marker[data.nif_censored] == markers - 1).all()
    assert data.nif_censored.any()
    person, t = data.y_person, data.y_visit
    within = (grid[:, person, t] - grid[:, person, 0]) / np.log(2)
    between = (draw["nif_level"][:, person] - draw["nif_mu"][:, None]) / np.log(2)
    arm = np.where(data.treated[person] == 1.0, 0, 1)
    shift = np.concatenate([[0.0], draw["visit_shift"]])
    expected = (draw["alpha"] + shift[t - 1] + draw["theta"] * (data.y0[person] - data.y0.mean())
                + draw["madrs_change_difference"][t - 1] * contrast[person]
                + (draw["coupling"][np.arange(markers)[:, None], arm[None, :]] * within
                   + draw["level_slope"][:, None] * between).sum(axis=0))
    rest = data.y - expected  # person intercept + noise
    person_means = pd.Series(rest).groupby(person).mean()
    noise = rest - person_means[person].to_numpy()
    assert noise.std() * np.sqrt(3 / 2) == pytest.approx(draw["sigma_y"], rel=0.15)  # 3 ratings per person
    assert person_means.var() == pytest.approx(draw["person_sd"] ** 2 + draw["sigma_y"] ** 2 / 3, rel=0.35)
    assert data.outcome_scale() == criticism.SBC_OUTCOME and (data.nif_center() == 1.0).all()


def test_the_moderation_sbc_draw_is_one_joint_draw_from_the_models_prior():
    """The data of an aim 3 SBC replicate, rebuilt from the prior draw: one
    baseline sample per participant and marker, of the drawn mean and SD;
    each MADRS rating the outcome model's mean plus, per marker, the drawn
    slope and moderation times the standardised baseline level, plus a person
    intercept and noise of the drawn SDs."""
    participants, markers = 133, 2
    data, prior = criticism.outcome_sbc_data(seed=6, participants=participants, markers=markers, censored_share=0.25,
                                             form="moderation")
    draw = {name: np.asarray(prior[name]).squeeze(axis=(0, 1)) for name in prior.data_vars}
    assert (data.nif_visit == 0).all() and len(data.nif_log) == participants * markers
    baseline = np.asarray(prior["nif0_missing"]).reshape(markers, participants)
    seen = ~data.nif_censored
    np.testing.assert_array_equal(data.nif_log[seen], baseline[data.nif_marker, data.nif_person][seen])
    for m in range(markers):
        assert baseline[m].mean() == pytest.approx(draw["nif0_mu"][m], abs=4 * draw["nif0_sd"][m] / np.sqrt(participants))
        assert baseline[m].std() == pytest.approx(draw["nif0_sd"][m], rel=0.2)
    lod = criticism.sbc_log_lod(1.0, 0.25)  # censored: exactly the last marker's values under the fixed limit
    drawn = baseline[data.nif_marker, data.nif_person]
    np.testing.assert_array_equal(data.nif_censored, (data.nif_marker == markers - 1) & (drawn <= lod))
    person, t = data.y_person, data.y_visit
    z = (baseline - draw["nif0_mu"][:, None]) / draw["nif0_sd"][:, None]
    contrast = data.arm_contrast
    shift = np.concatenate([[0.0], draw["visit_shift"]])
    slope = draw["baseline_slope_nif"][:, t - 1] + contrast[person] * draw["baseline_moderation_difference"][:, t - 1]
    expected = (draw["alpha"] + shift[t - 1] + draw["theta"] * (data.y0[person] - data.y0.mean())
                + draw["madrs_change_difference"][t - 1] * contrast[person] + (slope * z[:, person]).sum(axis=0))
    rest = data.y - expected
    person_means = pd.Series(rest).groupby(person).mean()
    noise = rest - person_means[person].to_numpy()
    assert noise.std() * np.sqrt(3 / 2) == pytest.approx(draw["sigma_y"], rel=0.15)
    assert person_means.var() == pytest.approx(draw["person_sd"] ** 2 + draw["sigma_y"] ** 2 / 3, rel=0.35)


def _quadratic_forms(model, point: dict) -> dict[str, float]:
    """Per Potential of the subgroup model (its two likelihoods), the
    quadratic form r' S^-1 r of the residuals under the model's own
    covariance at ``point`` (untransformed values by name): minus twice the
    log density less its normalising terms. At the true parameters of data
    drawn from the model it is chi-square with as many degrees of freedom as
    rows."""
    values = {}
    for value in model.value_vars:
        rv = model.values_to_rvs[value]
        transform = model.rvs_to_transforms.get(rv)
        x = point[rv.name]
        values[value.name] = transform.forward(x, *rv.owner.inputs[2:]).eval() if transform is not None else x
    out = {}
    for potential, (sd, person_sd, seen) in {"y": ("madrs_sigma", "madrs_person_sd", "subgroup_y_seen"),
                                             "change": ("nif_sigma", "nif_person_sd", "subgroup_change_seen")}.items():
        logp = float(model.compile_logp(vars=[model[potential]], jacobian=False, mode="FAST_COMPILE")(values))
        k = model[seen].get_value().sum(axis=-1)  # the fixed-shape form's container
        var, tau2 = point[sd][:, None] ** 2, point[person_sd][:, None] ** 2
        normalising = float(np.where(k > 0, k * np.log(2 * np.pi * var) + np.log1p(k * tau2 / var), 0.0).sum())
        out[potential] = -2 * logp - normalising
    return out


def test_the_subgroup_sbc_draw_comes_from_the_models_own_likelihood():
    """The ratings and NIF changes that the subgroup SBC simulates, put back
    into the model at the parameters that made them: each likelihood's
    quadratic form is chi-square with one degree of freedom per row (within
    4 SDs), so the simulator's means (arms, visits, couplings with their
    subgroup deviations, NIF arm effects with theirs) and its person and
    residual SDs are the model's. The same parameters against data whose
    arms were swapped are far off (the check can fail)."""
    from ketamine_nif.models.subgroups import build_subgroup_model

    template, design = criticism.subgroup_sbc_design(("IL-1RA", "BDNF"), 1)
    data, prior = criticism.subgroup_sbc_data(7, template, design)
    point = {name: np.asarray(prior[name])[0, 0] for name in prior.data_vars}
    # small SDs, so that a mean off by a little shows
    point.update({name: np.full(2, 0.5) for name in ("madrs_sigma", "madrs_person_sd")},
                 nif_sigma=np.full(2, 0.05), nif_person_sd=np.full(2, 0.05))
    data = criticism.simulate_subgroup_data(template, design, point, np.random.default_rng(7))
    rows = {"y": len(data.y), "change": len(data.change)}
    forms = _quadratic_forms(build_subgroup_model(data, design, fixed_shape=True), point)
    for name, n in rows.items():
        assert abs(forms[name] - n) < 4 * np.sqrt(2 * n), (name, forms[name], n)
    swapped = criticism.simulate_subgroup_data(replace(template, treated=1.0 - template.treated), design, point,
                                               np.random.default_rng(7))
    wrong = _quadratic_forms(build_subgroup_model(replace(swapped, treated=template.treated), design, fixed_shape=True), point)
    assert all(wrong[name] > n + 10 * np.sqrt(2 * n) for name, n in rows.items()), wrong


def test_the_subgroup_sbc_keeps_every_parameter_but_the_differences_of_splits_not_ranked():
    labels = ["coupling[IL-6,ketamine]", "coupling_deviation_scale[IL-6,ketamine]", "arm_deviation_scale[IL-6]",
              "coupling_deviation[IL-6,ketamine,bmi]", "coupling_deviation[IL-6,saline,sex]", "arm_deviation[IL-6,training]",
              "arm_deviation[IL-6,age]"]
    kept = [r["parameter"] for r in criticism.ranked_subgroup_rows([{"parameter": p} for p in labels], ("bmi", "training"))]
    assert kept == ["coupling[IL-6,ketamine]", "coupling_deviation_scale[IL-6,ketamine]", "arm_deviation_scale[IL-6]",
                    "coupling_deviation[IL-6,ketamine,bmi]", "arm_deviation[IL-6,training]"]


@pytest.mark.slow
def test_moderation_sbc_replicate_returns_sane_ranks():
    rows = pd.DataFrame(criticism.sbc_moderation_replicate(seed=3, participants=12, markers=2, draws=40, tune=60,
                                                           chains=1, thin=1))
    scalars = {"baseline_moderation_difference": 6, "baseline_slope_nif": 6, "madrs_change_difference": 3, "alpha": 1,
               "theta": 1, "sigma_y": 1, "person_sd": 1, "nif0_mu": 2, "nif0_sd": 2}
    assert rows["parameter"].str.split("[", regex=False).str[0].value_counts().to_dict() == scalars
    assert (rows["draws"] == 40).all() and rows["rank"].between(0, 40).all()


@pytest.mark.slow
def test_coupling_sbc_replicate_returns_sane_ranks():
    rows = pd.DataFrame(criticism.sbc_coupling_replicate(seed=3, participants=12, markers=2, draws=40, tune=60,
                                                         chains=1, thin=1))
    scalars = {"coupling": 4, "level_slope": 2, "madrs_change_difference": 3, "alpha": 1, "theta": 1, "sigma_y": 1,
               "person_sd": 1, "nif_arm": 6, "nif_mu": 2, "nif_tau": 2, "nif_sigma": 2}
    assert rows["parameter"].str.split("[", regex=False).str[0].value_counts().to_dict() == scalars
    assert (rows["draws"] == 40).all() and rows["rank"].between(0, 40).all()
    assert rows["log_lod"].iloc[0] == criticism.sbc_log_lod(1.0, 0.25)


def test_sbc_detection_limit_censors_the_intended_share_on_average():
    # the prior predictive share of values under the fixed limit is about the share asked for
    rng = np.random.default_rng(0)
    sd = TrajectoryPriors()
    n = 200_000
    values = (rng.normal(1.0, sd.intercept_sd, n) + rng.gamma(2.0, sd.person_sd / 2.0, n) * rng.normal(size=n)
              + np.abs(rng.normal(0, sd.residual_sd, n)) * rng.normal(size=n))
    assert (values <= criticism.sbc_log_lod(1.0, 0.25)).mean() == pytest.approx(0.25, abs=0.03)
    assert criticism.sbc_log_lod(1.0, 0.0) == -np.inf


def conjugate_ranks(replicates: int, width: float, seed: int, n: int = 5, draws: int = 99) -> pd.DataFrame:
    """Normal mean, known unit SD, N(0, 1) prior: the posterior is exact;
    ``width`` scales its SD (1 = calibrated, < 1 = overconfident)."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(replicates):
        mu = rng.normal()
        y = rng.normal(mu, 1.0, n)
        post = rng.normal(y.sum() / (n + 1), width / np.sqrt(n + 1), draws)
        rows.append({"parameter": "mu", "rank": criticism.rank_statistic(post, mu), "draws": draws})
    return pd.DataFrame(rows)


def test_ranks_are_uniform_for_an_exact_posterior_and_not_for_an_overconfident_one():
    calibrated = criticism.sbc_summary(conjugate_ranks(400, 1.0, seed=1))
    assert not calibrated["outside_band"].iloc[0]
    assert stats.chisquare(np.histogram(conjugate_ranks(400, 1.0, seed=2)["rank"], bins=10, range=(0, 100))[0]).pvalue > 0.001
    overconfident = criticism.sbc_summary(conjugate_ranks(400, 0.5, seed=1))
    assert overconfident["outside_band"].iloc[0]


def test_simultaneous_band_has_its_coverage():
    rng = np.random.default_rng(5)
    z = np.linspace(0, 1, 52)[1:-1]
    low, high = criticism.simultaneous_band(100, z, 0.95, n_simulations=2000, rng=rng)
    inside = []
    for _ in range(400):
        ecdf = criticism.ecdf_difference(rng.uniform(size=100), z) + z
        inside.append(((ecdf >= low) & (ecdf <= high)).all())
    assert 0.91 <= np.mean(inside) <= 0.99
    # simultaneous is wider than pointwise
    point_low = stats.binom.ppf(0.025, 100, z) / 100
    assert (low <= point_low).all() and (low < point_low).any()
    # at a high level (a model's band for 40 parameters) it keeps its coverage: about 1 in 800 curves leaves it
    low, high = criticism.simultaneous_band(100, z, 1 - 0.05 / 40, n_simulations=40_000, rng=rng)
    ecdfs = np.sort(rng.uniform(size=(20_000, 100)), axis=1)
    counts = np.stack([np.searchsorted(row, z, side="right") for row in ecdfs]) / 100
    left = ((counts < low) | (counts > high)).any(axis=1).mean()
    assert 0.0005 <= left <= 0.002  # nominal 0.00125; 0.05 / 40**2 or no correction would fail


def test_simultaneous_band_refuses_points_it_cannot_use():
    # the counts under each point come from the gaps between sorted points inside (0, 1)
    for points in ([0.5, 0.2], [0.0, 0.5], [0.5, 1.0], [0.2, 0.2], [], [0.2, np.nan]):
        with pytest.raises(ValueError, match="strictly between 0 and 1"):
            criticism.simultaneous_band(50, np.array(points), 0.95)


def test_long_parameter_names_wrap_to_fit_their_panel():
    from ketamine_nif.plotting.criticism import SHORT_TITLE, panel_title

    assert panel_title("alpha") == "alpha"
    assert panel_title("madrs_change_difference[24h]") == "madrs_change_difference\n[24h]"
    title = panel_title("baseline_moderation_difference[marker1,24h]")
    assert title == "baseline_moderation_\ndifference\n[marker1,24h]"
    assert all(len(line) <= SHORT_TITLE for line in title.split("\n"))
    assert title.replace("\n", "") == "baseline_moderation_difference[marker1,24h]"


def test_the_model_band_lets_chance_pass_and_catches_a_miscalibrated_parameter():
    """Forty calibrated parameters: with one 95% band each, some leave by
    chance; the model's band keeps them all. An overconfident one leaves both."""
    calibrated = [conjugate_ranks(300, 1.0, seed=100 + i).assign(parameter=f"mu[{i}]") for i in range(40)]
    summary = criticism.sbc_summary(pd.concat(calibrated, ignore_index=True), seed=1)
    assert summary["outside_band"].sum() >= 1 and not summary["outside_model_band"].any()
    curves = criticism.sbc_ecdf(pd.concat(calibrated, ignore_index=True), seed=1)
    assert (curves["model_low"] <= curves["low"]).all() and (curves["model_high"] >= curves["high"]).all()
    # the model's band is the band at level 1 - 0.05 / 40 for these 40 parameters, from its own random stream
    z = curves["z"].unique()
    low, high = criticism.simultaneous_band(300, z, 1 - 0.05 / 40, n_simulations=int(criticism.MODEL_BAND_TAIL * 40 / 0.05),
                                            rng=np.random.default_rng([1, 1]))
    assert np.allclose(curves.loc[curves["parameter"] == "mu[7]", "model_high"], high - z)
    assert np.allclose(curves.loc[curves["parameter"] == "mu[7]", "model_low"], low - z)
    overconfident = conjugate_ranks(300, 0.5, seed=99).assign(parameter="mu[over]")
    summary = criticism.sbc_summary(pd.concat([*calibrated, overconfident], ignore_index=True), seed=1)
    assert summary.set_index("parameter").loc["mu[over]", "outside_model_band"]
    assert not summary["outside_model_band"].iloc[:40].any()


def test_integrated_participant_likelihood_matches_the_closed_form():
    rng = np.random.default_rng(2)
    data = criticism.sbc_design(participants=4, markers=1, rng=rng)
    data.nif_log = rng.normal(1.0, 1.0, len(data.nif_log))
    posterior = xr.Dataset({
        "mu": (("chain", "draw", "marker"), [[[0.8], [1.1]]]),
        "tau": (("chain", "draw", "marker"), [[[0.7], [0.4]]]),
        "sigma": (("chain", "draw", "marker"), [[[0.5], [0.9]]]),
        "delta": (("chain", "draw", "marker", "post_visit"), [[[[0.1, -0.2, 0.3]], [[0.0, 0.2, -0.1]]]]),
        "log_ratio": (("chain", "draw", "marker", "post_visit"), [[[[0.4, 0.0, -0.3]], [[-0.2, 0.1, 0.2]]]]),
    })
    ours = criticism.integrated_participant_log_likelihood(posterior, data, nodes=40)
    coarse = criticism.integrated_participant_log_likelihood(posterior, data, nodes=24)  # the chapter's default
    for d in range(2):
        p = posterior.isel(chain=0, draw=d)
        for i in range(4):
            rows = np.flatnonzero(data.nif_person == i)
            t = data.nif_visit[rows]
            mean = float(p["mu"][0]) + np.where(t > 0, np.asarray(p["delta"][0])[np.maximum(t - 1, 0)]
                                                + data.arm_contrast[i] * np.asarray(p["log_ratio"][0])[np.maximum(t - 1, 0)], 0.0)
            cov = float(p["tau"][0]) ** 2 + np.eye(len(rows)) * float(p["sigma"][0]) ** 2
            exact = stats.multivariate_normal(mean, cov).logpdf(data.nif_log[rows])
            assert ours[0, d, i] == pytest.approx(exact, abs=1e-3)
            assert coarse[0, d, i] == pytest.approx(exact, abs=2e-2)


def test_integrated_likelihood_with_person_slopes_matches_the_closed_form():
    # level and slope integrated out: the cell is multivariate normal with
    # covariance tau^2 11' + omega^2 dd' + sigma^2 I (d = days since the infusion)
    rng = np.random.default_rng(7)
    data = criticism.sbc_design(participants=3, markers=1, rng=rng)
    data.nif_log = rng.normal(1.0, 1.0, len(data.nif_log))
    posterior = xr.Dataset({
        "mu": (("chain", "draw", "marker"), [[[0.8]]]), "tau": (("chain", "draw", "marker"), [[[0.7]]]),
        "sigma": (("chain", "draw", "marker"), [[[0.5]]]), "slope_sd": (("chain", "draw", "marker"), [[[0.15]]]),
        "delta": (("chain", "draw", "marker", "post_visit"), [[[[0.1, -0.2, 0.3]]]]),
        "log_ratio": (("chain", "draw", "marker", "post_visit"), [[[[0.4, 0.0, -0.3]]]]),
    })
    ours = criticism.integrated_participant_log_likelihood(posterior, data, nodes=40, slope_nodes=40)
    coarse = criticism.integrated_participant_log_likelihood(posterior, data)  # the chapter's default grid
    without = criticism.integrated_participant_log_likelihood(posterior.drop_vars("slope_sd"), data)
    p = posterior.isel(chain=0, draw=0)
    for i in range(3):
        rows = np.flatnonzero(data.nif_person == i)
        t = data.nif_visit[rows]
        mean = 0.8 + np.where(t > 0, np.asarray(p["delta"][0])[np.maximum(t - 1, 0)]
                              + data.arm_contrast[i] * np.asarray(p["log_ratio"][0])[np.maximum(t - 1, 0)], 0.0)
        d = data.visit_days[t]
        cov = 0.7 ** 2 + 0.15 ** 2 * np.outer(d, d) + np.eye(len(rows)) * 0.5 ** 2
        exact = stats.multivariate_normal(mean, cov).logpdf(data.nif_log[rows])
        assert ours[0, 0, i] == pytest.approx(exact, abs=1e-3)
        assert coarse[0, 0, i] == pytest.approx(exact, abs=2e-2)
        assert without[0, 0, i] != pytest.approx(exact, abs=1e-2)  # the slopes matter


def test_person_slopes_variant_adds_slopes():
    rng = np.random.default_rng(1)
    data = criticism.sbc_design(participants=5, markers=2, rng=rng)
    names = {v.name for v in build_nif_trajectory_model(data, person_slopes=True).free_RVs}
    assert {"slope_sd", "slope_raw"} <= names
    assert not {"slope_sd", "slope_raw"} & {v.name for v in build_nif_trajectory_model(data).free_RVs}
    data.visit_days = None
    with pytest.raises(ValueError, match="visit_days"):
        build_nif_trajectory_model(data, person_slopes=True)


def test_lod_substitutions():
    rng = np.random.default_rng(0)
    data = criticism.sbc_design(participants=3, markers=1, rng=rng)
    data.nif_log = np.log(np.full(len(data.nif_log), 2.0))
    data.nif_censored = np.arange(len(data.nif_log)) % 3 == 0
    values, censored = substituted(data, "censored")
    assert np.array_equal(censored, data.nif_censored) and np.array_equal(values, data.nif_log)
    values, censored = substituted(data, "lod/2")
    assert not censored.any()
    assert np.allclose(np.exp(values[data.nif_censored]), 1.0) and np.allclose(np.exp(values[~data.nif_censored]), 2.0)
    values, _ = substituted(data, "lod/sqrt2")
    assert np.allclose(np.exp(values[data.nif_censored]), 2.0 / np.sqrt(2.0))
    with pytest.raises(ValueError, match="below_lod"):
        substituted(data, "zero")


def test_participant_loo_prefers_the_model_that_predicts_better():
    rng = np.random.default_rng(4)
    posterior = xr.Dataset({"mu": (("chain", "draw"), rng.normal(size=(2, 200)))})
    idata = xr.DataTree.from_dict({"/posterior": posterior})
    people = [f"p{i}" for i in range(30)]
    good = rng.normal(-1.0, 0.05, size=(2, 200, 30))
    bad = good - 0.5
    table = criticism.comparison_table({
        "good": criticism.participant_loo(idata, good, people), "bad": criticism.participant_loo(idata, bad, people)})
    assert table.index[0] == "good"
    assert table.loc["bad", "elpd_diff"] == pytest.approx(-15.0, abs=0.5)  # ArviZ 1.x: negative for worse models
    assert (table["share_k_over_0.7"] == 0).all()
    # a constant per-participant difference has no spread: SE 0; the table's SE (best vs bad) agrees with ours
    same = criticism.participant_loo(idata, good, people)
    assert criticism.difference_se(same, same) == 0.0
    noisy = good + rng.normal(0, 0.3, size=(1, 1, 30))
    ours = criticism.difference_se(criticism.participant_loo(idata, good, people), criticism.participant_loo(idata, noisy, people))
    pair = criticism.comparison_table({"good": criticism.participant_loo(idata, good, people),
                                       "noisy": criticism.participant_loo(idata, noisy, people)})
    assert ours == pytest.approx(float(pair["dse"].max()), rel=1e-6)


def test_elpd_is_computed_from_at_most_the_draws_asked_for_evenly_over_each_chain():
    posterior = xr.Dataset({"mu": (("chain", "draw"), np.arange(4 * 4000.0).reshape(4, 4000))})
    thin = criticism.thinned(posterior, 4000)
    assert dict(thin.sizes) == {"chain": 4, "draw": 1000}
    assert np.array_equal(thin["mu"][1, :3], [4000.0, 4004.0, 4008.0])  # every 4th draw of each chain
    assert criticism.thinned(thin, 4000).sizes["draw"] == 1000  # already few enough: all kept
    assert criticism.thinned(posterior, None).sizes["draw"] == 4000
    three = posterior.isel(chain=slice(3), draw=slice(1000))
    assert criticism.thinned(three, 1000).sizes["draw"] == 250  # at most 1,000 over 3 chains: every 4th, not every 3rd (3 x 334)
    # the elpd of a fit from thinned draws is PSIS-LOO over exactly those draws
    rng = np.random.default_rng(5)
    data = criticism.sbc_design(participants=6, markers=1, rng=rng)
    data.nif_log = rng.normal(1.0, 1.0, len(data.nif_log))
    shape = (2, 400)
    draws = xr.Dataset({
        "mu": (("chain", "draw", "marker"), rng.normal(1.0, 0.1, (*shape, 1))),
        "tau": (("chain", "draw", "marker"), rng.uniform(0.5, 0.8, (*shape, 1))),
        "sigma": (("chain", "draw", "marker"), rng.uniform(0.8, 1.1, (*shape, 1))),
        "delta": (("chain", "draw", "marker", "post_visit"), rng.normal(0, 0.1, (*shape, 1, 3))),
        "log_ratio": (("chain", "draw", "marker", "post_visit"), rng.normal(0, 0.1, (*shape, 1, 3))),
    })
    fit = SimpleNamespace(idata=xr.DataTree.from_dict({"/posterior": draws}))
    ours = criticism.participant_elpd(fit, data, max_draws=200)
    every_fourth = draws.isel(draw=slice(None, None, 4))
    expected = criticism.participant_loo(xr.DataTree.from_dict({"/posterior": every_fourth}),
                                         criticism.integrated_participant_log_likelihood(every_fourth, data), data.participants)
    assert np.asarray(ours.elpd_i).shape == (6,) and float(ours.elpd) == pytest.approx(float(expected.elpd))
    assert float(criticism.participant_elpd(fit, data).elpd) != pytest.approx(float(ours.elpd))


def test_variants_are_one_list_with_distinct_fits_seeds_and_estimands():
    from ketamine_nif.inference import SamplerSettings
    from ketamine_nif.summary import describe

    chapter = SamplerSettings(draws=100, seed=7)
    names = [v.fit_name for v in criticism.VARIANTS]
    assert len(set(names)) == len(names) and len({v.label for v in criticism.VARIANTS}) == len(names)
    assert len({v.settings(chapter).seed for v in criticism.VARIANTS}) == len(names)  # seeds from the fit's name
    assert criticism.PERSON_SLOPES.settings(chapter).draws == 400 and criticism.BOOK.settings(chapter).draws == 100
    assert criticism.BOOK.estimand == "nif_change_ratio" and criticism.BOOK.options == {
        "likelihood": "normal", "below_lod": "censored", "person_slopes": False}
    assert [v.treatment for v in (criticism.BOOK, criticism.LOD_HALF, criticism.LOD_SQRT2)] == ["censored", "LOD/2", "LOD/√2"]
    # the summary names each variant's estimand the way the variant describes itself
    for variant in criticism.VARIANTS[1:]:
        assert describe(variant.estimand).endswith(f"Sensitivity analysis: {variant.description}.")


def test_scaled_priors_change_only_the_arm_scale():
    book = TrajectoryPriors()
    scaled = criticism.scaled_priors(book, 2.0)
    assert scaled["wider"].arm_scale == pytest.approx(2 * book.arm_scale)
    assert scaled["narrower"].arm_scale == pytest.approx(book.arm_scale / 2)
    assert scaled["wider"].residual_sd == book.residual_sd


def test_replicates_of_the_censored_model_and_of_a_substitution_fill_every_row():
    from ketamine_nif import checks

    data = criticism.sbc_design(participants=3, markers=1, rng=np.random.default_rng(0))
    data.nif_censored = np.arange(len(data.nif_log)) % 4 == 0
    data.nif_log_lod = np.full(len(data.nif_log), -1.0)

    def group(**sizes):
        return xr.Dataset({name: (("chain", "draw", f"{name}_dim"), np.full((1, 2, n), value))
                           for name, (n, value) in sizes.items()})

    seen, below = int((~data.nif_censored).sum()), int(data.nif_censored.sum())
    censored = checks.nif_replicates(group(log_nif=(seen, 0.5), log_nif_censored=(below, -3.0)), data)
    assert censored.shape == (2, len(data.nif_log))
    assert (censored[:, data.nif_censored] == -1.0).all() and (censored[:, ~data.nif_censored] == 0.5).all()
    substituted_rows = checks.nif_replicates(group(log_nif=(len(data.nif_log), -2.0)), data)
    assert (substituted_rows == -1.0).all()  # reported at the lod, as the laboratory would


def test_distribution_checks_one_panel_per_treatment_and_marker():
    rng = np.random.default_rng(3)
    data = criticism.sbc_design(participants=6, markers=2, rng=rng)
    data.nif_log = rng.normal(size=len(data.nif_log))
    same = np.tile(data.nif_log, (40, 1)) + rng.normal(0, 0.01, (40, len(data.nif_log)))
    shifted = same + 3.0
    panels = criticism.distribution_checks(data, {"censored": same, "LOD/2": shifted}, points=20)
    assert list(panels) == [("censored", "marker1"), ("censored", "marker2"), ("LOD/2", "marker1"), ("LOD/2", "marker2")]
    share = criticism.share_outside(panels)
    assert share["LOD/2"].min() > share["censored"].max()


def test_sbc_curves_and_summary_agree():
    ranks = conjugate_ranks(100, 0.5, seed=3)
    curves = criticism.sbc_ecdf(ranks, points=49, seed=1)
    summary = criticism.sbc_summary(ranks, points=49, seed=1)
    assert len(curves) == 49 and summary["replicates"].iloc[0] == 100
    assert summary["max_abs_difference"].iloc[0] == pytest.approx(curves["difference"].abs().max())
    assert summary["outside_band"].iloc[0] == ((curves["difference"] < curves["low"]) | (curves["difference"] > curves["high"])).any()


def test_figures_of_model_criticism_draw():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ketamine_nif.plotting import criticism as figures

    rng = np.random.default_rng(2)
    data = criticism.sbc_design(participants=4, markers=2, rng=rng)
    data.nif_log = rng.normal(size=len(data.nif_log))
    panels = criticism.distribution_checks(data, {"censored": np.tile(data.nif_log, (8, 1))}, points=10)
    ratios = pd.DataFrame({"marker": ["A", "A"], "visit": ["24h", "day3"], "mean": [1.1, 0.9], "ci_low": [0.8, 0.7],
                           "ci_high": [1.5, 1.2]})
    errors = pd.DataFrame({"marker": ["A", "A", "B", "B"], "method": ["censored", "lod/2"] * 2, "log_error": [0.0, 0.1, -0.1, 0.2]})
    made = [figures.ecdf_checks(panels, "log concentration", columns=2), figures.prior_refits({"book": ratios, "wider": ratios}),
            figures.lod_errors(errors), figures.lod_errors(None), figures.sbc(criticism.sbc_ecdf(conjugate_ranks(30, 1.0, seed=1))),
            figures.sbc(None)]
    assert all(isinstance(f, plt.Figure) for f in made)
    assert made[0].axes[0].get_title() == "marker1 (censored)"
    plt.close("all")
