"""The dashboard's inline style and script: no external asset, no framework, works offline
from file:// (every page is self-contained apart from the badge images beside it).

The index script sorts the level table by a clicked column (again: the other way) and filters
it by text and level. The filter can also be given in the address, `index.html#q=hello&level=5`
(a link to a filtered view), and the table's state is kept there as it changes.
"""

from __future__ import annotations

STYLE = """
body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.5em;margin:0 0 .3em}h2{font-size:1.15em;margin:1.4em 0 .4em}
table{border-collapse:collapse;font-size:13px}th,td{border:1px solid #ddd;padding:3px 6px;text-align:left;
vertical-align:top}th{background:#f4f4f4;position:sticky;top:0}th[data-type]{cursor:pointer}
th.asc::after{content:" \\25B2"}th.desc::after{content:" \\25BC"}
.pass{background:#dff5d8}.fail{background:#fbd9d3}.skip{background:#eee}.unver{background:#fcefc7}
.L0{background:#e05d44;color:#fff}.L1{background:#fe7d37}.L2{background:#dfb317}.L3{background:#a4a61d;color:#fff}
.L4{background:#97ca00}.L5{background:#4c1;color:#fff}.lvl{font-weight:bold;text-align:center}
.h{white-space:nowrap}.h i{display:inline-block;width:9px;height:12px;margin-right:1px}.meta{color:#555}
.controls{margin:.6em 0}.controls input{width:22em;padding:3px}.why{max-width:34em}
pre{white-space:pre-wrap;margin:0;max-width:60em}code{font-size:12px}.n{text-align:right}
"""

INDEX_SCRIPT = """
(function(){
var table=document.getElementById('levels'),body=table.tBodies[0],rows=[].slice.call(body.rows);
var q=document.getElementById('q'),lv=document.getElementById('level'),shown=document.getElementById('shown');
rows.forEach(function(r){r._text=r.textContent.toLowerCase();});
function apply(){
  var t=q.value.trim().toLowerCase(),l=lv.value,n=0;
  rows.forEach(function(r){var ok=(!t||r._text.indexOf(t)>=0)&&(!l||r.dataset.level===l);
    r.style.display=ok?'':'none';if(ok)n++;});
  shown.textContent=n;
  var h=[];if(t)h.push('q='+encodeURIComponent(t));if(l)h.push('level='+l);
  try{history.replaceState(null,'',h.length?'#'+h.join('&'):location.pathname);}catch(e){}
}
function sortBy(th){
  var i=th.cellIndex,num=th.dataset.type==='num',dir=th.classList.contains('asc')?-1:1;
  [].forEach.call(table.tHead.rows[0].cells,function(c){c.classList.remove('asc','desc');});
  th.classList.add(dir>0?'asc':'desc');
  function key(r){var c=r.cells[i],v=c.dataset.sort!==undefined?c.dataset.sort:c.textContent;
    return num?parseFloat(v)||0:v.toLowerCase();}
  rows.sort(function(a,b){var x=key(a),y=key(b);return x<y?-dir:x>y?dir:0;});
  rows.forEach(function(r){body.appendChild(r);});
}
[].forEach.call(table.tHead.rows[0].cells,function(th){
  if(th.dataset.type)th.addEventListener('click',function(){sortBy(th);});});
q.addEventListener('input',apply);lv.addEventListener('change',apply);
location.hash.replace(/^#/,'').split('&').forEach(function(p){var kv=p.split('=');
  if(kv[0]==='q')q.value=decodeURIComponent(kv[1]||'');if(kv[0]==='level')lv.value=kv[1]||'';});
apply();
})();
"""
