# An encoder of snapshot bodies written from PROTOCOL.md alone ("Snapshot body" and
# "Checksum"), for the arena's layout. It computed the known-answer bytes of
# `shared/src/snapshot/tests.rs` (`a_delta_in_the_*_form_has_the_bytes_protocol_md_gives`):
#   python3 docs/kat/snapshot_body.py
W=[32,32,32,32,16,8,8,32,32,8,32]
C=[5,5,4,4,6,4,2,3,6,2,6]
GROUPS=[[0,1,2,3],[4],[5,6,7,8,9,10]]
class Bits:
    def __init__(s): s.bits=[]
    def put(s,v,n):
        for i in range(n): s.bits.append((v>>i)&1)
    def varu(s,v,c):
        while True:
            s.put(v & ((1<<c)-1), c); v >>= c
            s.put(1 if v else 0, 1)
            if not v: break
    def bytes(s):
        b=s.bits+[0]*((-len(s.bits))%8)
        return bytes(sum(b[i+j]<<j for j in range(8)) for i in range(0,len(b),8))
def word(v,k): return v & ((1<<W[k])-1)
def sext(v,w):
    v&=(1<<w)-1
    return v-(1<<w) if v>>(w-1) else v
def zigzag(r): return ((r<<1) ^ (r>>31)) & 0xffffffff
def predict(e,gap):
    p=list(e['f'])
    p[0]=(e['f'][0]+e['f'][2]*gap) ; p[1]=(e['f'][1]+e['f'][3]*gap)
    p[0]=sext(p[0],32); p[1]=sext(p[1],32)
    return p
def residuals(actual,p):
    return [sext(word(actual[k],k)-word(p[k],k),W[k]) for k in range(11)]
def fields(b,actual,p):
    r=residuals(actual,p)
    for g in GROUPS:
        present=[k for k in g if r[k]!=0]
        b.put(1 if present else 0,1)
        if present and len(g)>1:
            for k in g: b.put(1 if r[k]!=0 else 0,1)
    for k in range(11):
        if r[k]!=0: b.varu(zigzag(r[k])-1,C[k])
def gaps(b,ids):
    prev=None
    for i in ids:
        b.varu(i if prev is None else i-prev-1,4); prev=i
def body(base,gap,cur,form):
    b=Bits()
    removed=sorted(i for i in base if i not in cur)
    b.varu(len(removed),4); gaps(b,removed)
    kept=sorted(i for i in base if i in cur)
    b.put(form,1)
    pred={i:predict(base[i],gap) for i in kept}
    changed=[i for i in kept if any(residuals(cur[i]['f'],pred[i]))]
    if form==0:
        for i in kept:
            if i in changed: b.put(1,1); fields(b,cur[i]['f'],pred[i])
            else: b.put(0,1)
    else:
        b.varu(len(changed),4); last=-1
        for n,i in enumerate(kept):
            if i in changed:
                b.varu(n-last-1,4); fields(b,cur[i]['f'],pred[i]); last=n
    added=sorted(i for i in cur if i not in base)
    b.varu(len(added),4); gaps(b,added)
    for i in added:
        b.put(cur[i]['kind'],2); fields(b,cur[i]['f'],[0]*11)
    return b.bytes(), len(b.bits)
def ent(kind,x=0,y=0,vx=0,vy=0,angle=0,health=0,life=0,score=0,owner=0,hits=0,target=0):
    return {'kind':kind,'f':[x,y,vx,vy,angle,health,life,score,owner,hits,target]}
# Bitmap: players 3 and 7 kept over a gap of 2; 3 moves by its velocity only (dead
# reckoning: no residual), 7 loses 25 health; drifter 9 removed; projectile 12 added.
base={3:ent(0,x=1000,y=2000,vx=30,vy=-10,health=100),7:ent(0,x=5000,y=5000,health=100,score=2),9:ent(2,x=100,y=100,vx=100,vy=-50)}
cur={3:ent(0,x=1060,y=1980,vx=30,vy=-10,health=100),7:ent(0,x=5000,y=5000,health=75,score=2),12:ent(1,x=4000,y=-300,vx=-200,owner=3)}
# List: twelve drifters 20..31 kept over a gap of 1, all on course, but 25 is nudged 3
# quanta right.
base2={i:ent(2,x=1000*i,y=500,vx=100,vy=-50) for i in range(20,32)}
cur2={i:ent(2,x=1000*i+100,y=450,vx=100,vy=-50) for i in range(20,32)}
cur2[25]['f'][0]+=3
M=(1<<64)-1
def entity_hash(i,e):
    h=0x243f6a8885a308d3
    for w in [i,e['kind']]+[word(v,k) for k,v in enumerate(e['f'])]:
        h=((h^w)*0x9e3779b97f4a7c15)&M
        h^=h>>32
    return h&0xffffffff
def checksum(view): return sum(entity_hash(i,e) for i,e in view.items())&0xffffffff
def show(name,bs_bits,view):
    bs,bits=bs_bits
    print(f"{name}: {bits} bits: {' '.join('%02x'%x for x in bs)}; checksum {checksum(view):#010x}")
assert entity_hash(7,ent(0,x=5000,y=-3,health=100))==0x264d6172  # PROTOCOL.md's example
show('bitmap form',body(base,2,cur,0),cur)
show('  (as a list it would take)',body(base,2,cur,1),cur)
show('list form',body(base2,1,cur2,1),cur2)
show('  (as a bitmap it would take)',body(base2,1,cur2,0),cur2)
