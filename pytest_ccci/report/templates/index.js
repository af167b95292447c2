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
