import json, statistics as st
seeds=[0,1,2]
data={}
for s in seeds:
    d=json.load(open(f'benchmarks/results/unlabelled-targets/seeds/seed{s}.json'))
    for r in d['rows']:
        name=r['method']
        if r['method']=='dhd': name=f"dhd τ{r.get('temperature','?')}"
        key=(name, r['sdh'], r['bits'])
        data.setdefault(key,{})[s]=r['map_1000']
rows=[]
base={b:data[('pca-itq',False,b)] for b in (16,32,64)}
print("| method | SdH | " + " | ".join(f"{b} bits: mean (seeds 0/1/2)" for b in (16,32,64))+" | wins |")
keys=sorted({(k[0],k[1]) for k in data}, key=lambda x:(x[0]!='pca-itq',x[0],x[1]))
for m,sdh in keys:
    cells=[];wins=0;tot=0
    for b in (16,32,64):
        v=data.get((m,sdh,b))
        if not v: cells.append('');continue
        vals=[v[s] for s in seeds if s in v]
        cell=f"{st.mean(vals):.4f} ({'/'.join(f'{x:.3f}' for x in vals)})"
        if m!='pca-itq':
            diffs=[v[s]-base[b][s] for s in seeds if s in v]
            wins+=sum(x>0 for x in diffs); tot+=len(diffs)
            cell+=f" {st.mean(diffs):+.4f}"
        cells.append(cell)
    print(f"| {m} | {'yes' if sdh else 'no'} | "+" | ".join(cells)+f" | {wins}/{tot} |")
