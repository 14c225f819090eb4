"""The seed ranges that `nbs/08_tabular.ipynb` quotes in its prose: the adult model's one epoch, the Rossmann model.

`python tools/seed_ranges_08.py` trains lesson 4's adult model (the lesson's columns, procs, split and
`tabular_learner(data, layers=[200, 100])`) for one epoch at 1e-2 from seeds 0 to 15 (`--seeds`), once with a constant
learning rate (`fit`, as the course) and once with one-cycle (`fit_one_cycle`, as the lesson), then lesson 6's Rossmann
model (the lesson's table, columns and 8 epochs of one-cycle) from seeds 0 to 7 (`--rossmann-seeds`), and prints the
range of the validation accuracies and of the validation `exp_rmspe`. At tiny size (the default here) on the
stand-ins."""
import argparse, os

def adult_data():
    "The lesson's adult DataBunch: 6 categorical and 3 continuous columns, rows 800 to 1,799 for validation."
    import pandas as pd
    from course_lib.datasets import URLs, untar_data
    from course_lib.tabular import Categorify, FillMissing, Normalize, TabularList
    df = pd.read_csv(untar_data(URLs.ADULT_SAMPLE)/'adult.csv', skipinitialspace=True)
    cat_names = ['workclass', 'education', 'marital-status', 'occupation', 'relationship', 'race']
    cont_names = ['age', 'fnlwgt', 'education-num']
    return (TabularList.from_df(df, cat_names=cat_names, cont_names=cont_names, procs=[FillMissing, Categorify, Normalize])
            .split_by_idx(list(range(800, 1800))).label_from_df(cols='salary').databunch(bs=64))

def one_epoch(data, seed:int, one_cycle:bool) -> float:
    "Validation accuracy after one epoch at 1e-2 from `seed`."
    from course_lib.core import set_seed
    from course_lib.learner import accuracy
    from course_lib.tabular import tabular_learner
    set_seed(seed)
    learn = tabular_learner(data, layers=[200, 100], metrics=accuracy, show_progress=False)
    (learn.fit_one_cycle if one_cycle else learn.fit)(1, 1e-2)
    return float(learn.recorder.metrics[-1][0])

def rossmann_rmspe(seed:int) -> float:
    "Validation `exp_rmspe` of the lesson's Rossmann model trained from `seed` (the last six weeks validate)."
    import numpy as np, pandas as pd
    from course_lib.core import set_seed
    from course_lib.data import FloatList
    from course_lib.tabular import (Categorify, FillMissing, Normalize, TabularList, add_datepart, exp_rmspe,
                                    rossmann_table, tabular_learner)
    ross = add_datepart(rossmann_table(), 'Date', drop=False)
    ross['LogSales'] = np.log(ross['Sales'])
    valid = np.where(ross['Date'] > ross['Date'].max() - pd.Timedelta(weeks=6))[0]
    cats = ['Store', 'DayOfWeek', 'Year', 'Month', 'Day', 'Week', 'StoreType', 'Assortment', 'State']
    conts = ['CompetitionDistance', 'Promo', 'SchoolHoliday', 'Elapsed']
    data = (TabularList.from_df(ross, cat_names=cats, cont_names=conts, procs=[FillMissing, Categorify, Normalize])
            .split_by_idx(valid).label_from_df(cols='LogSales', label_cls=FloatList).databunch(bs=128))
    set_seed(seed)
    learn = tabular_learner(data, layers=[200, 100], ps=[0.001, 0.01], emb_drop=0.04,
                            y_range=(0, np.log(np.max(ross['Sales']) * 1.2)), metrics=exp_rmspe, show_progress=False)
    learn.fit_one_cycle(8, 3e-2, wd=0.2)
    return exp_rmspe(*learn.get_preds()).item()

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--seeds', type=int, default=16)
    ap.add_argument('--rossmann-seeds', type=int, default=8)
    ap.add_argument('--size', default='tiny', choices=['tiny', 'full'])
    args = ap.parse_args()
    os.environ['COURSE_LIB_SIZE'] = args.size
    data = adult_data()
    for name, one_cycle in (('fit(1, 1e-2)', False), ('fit_one_cycle(1, 1e-2)', True)):
        accs = [one_epoch(data, s, one_cycle) for s in range(args.seeds)]
        print(f"{name}: validation accuracy {min(accs):.3f} to {max(accs):.3f} over seeds 0-{args.seeds - 1}")
    rmspe = [rossmann_rmspe(s) for s in range(args.rossmann_seeds)]
    print(f"Rossmann: validation exp_rmspe {min(rmspe):.3f} to {max(rmspe):.3f} over seeds 0-{args.rossmann_seeds - 1}")
