import re,collections
lines=open('/tmp/trace.txt',errors='replace').read().split('\n')
ev=[]
for l in lines:
    m=re.match(r'^\++(\d+\.\d+) (\S+) ?(.*)',l)
    if m: ev.append((float(m.group(1)),m.group(2),m.group(3)[:90]))
tot=collections.Counter(); cmd=collections.Counter()
for (t,f,c),(t2,_,_) in zip(ev,ev[1:]):
    tot[f]+=t2-t; cmd[(f,c[:60])]+=t2-t
print('total',round(ev[-1][0]-ev[0][0],3), 'events', len(ev))
for f,v in tot.most_common(14): print(f"{v*1000:8.1f} ms {f}")
print('--')
for k,v in cmd.most_common(14): print(f"{v*1000:8.1f} ms {k}")
