#!/usr/bin/env python3
"""Check corpora/sentiment/customer.jsonl (standard library only).

Usage:  python3 corpora/sentiment/check.py [PATH]      (default: customer.jsonl beside this file)

Verifies the schema, the kind/label/anger rules, the style and script rules, the size and balance
targets, that there are no duplicates or near-duplicates (character-bigram Jaccard >= 0.8), that
every group sits in one split, and that no dev/test line closely resembles any train line
(bigram Jaccard >= 0.5). Prints the counts; exits 1 if any check fails.

Bigrams are taken over the NFKC-normalised, lower-cased text with everything but letters and
digits (CJK included) removed; a text of one such character counts as that character.
"""
import collections
import json
import os
import re
import sys
import unicodedata

FIELDS = ["id", "text", "label", "anger", "kind", "script", "style", "domain", "group", "split"]
LABELS = ["negative", "neutral", "positive"]
KIND_LABEL = {  # kind -> allowed labels
    "complaint": {"negative"}, "anger": {"negative"}, "threat": {"negative"},
    "sarcasm": {"negative"}, "worry": {"negative"},
    "question": {"neutral"}, "info": {"neutral"},
    "thanks": {"positive"}, "praise": {"positive"}, "relief": {"positive"},
    "mixed": set(LABELS), "hard": set(LABELS),
}
SCRIPTS = ["simplified", "traditional"]
STYLES = ["formal", "chat", "asr"]
DOMAINS = ["e-commerce", "telecom", "banking", "logistics", "property", "software", "hotel",
           "restaurant", "insurance", "airline", "utilities", "government", "education",
           "healthcare", "car service", "gaming"]
SPLITS = ["train", "dev", "test"]

MIN_LINES = 2400
SHARE = {  # label share of all lines: (low, high)
    "negative": (0.40, 0.50), "neutral": (0.30, 0.40), "positive": (0.15, 0.25)}
ANGER_OF_NEGATIVE = (0.33, 0.47)
MIN_KIND = {"threat": 150, "sarcasm": 150}
MAX_MIXED_SHARE = 0.03
MIN_TRADITIONAL = 0.15
MIN_STYLE = {"chat": 0.25, "asr": 0.20}
SPLIT_TARGET = {"train": 0.70, "dev": 0.15, "test": 0.15}
SPLIT_TOLERANCE = 0.04
NEAR_DUP = 0.8
LEAK = 0.5

# ASR lines carry no punctuation at all.
PUNCT = re.compile(r"[\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65"
                   r"!-/:-@\[-`{-~\u2010-\u2027\u2030-\u205e]")

# Characters that exist only in Traditional script (OpenCC t2s changes them), U+4E00..U+9FFF.
TRAD_ONLY = frozenset(
    "丟並乾亂亙亞佇佈佔併來侖侶侷俁係俓俔俠俥俬倀倆倈倉個們倖倫倲偉偑側偵偽傌傑傖傘備傢傭傯傳傴債傷傾僂僅僉僑僕僞僤僥僨僱價儀"
    "儁儂億儈儉儎儐儔儕儘償儣優儭儲儷儸儺儻儼兇兌兒兗內兩冊冑冪凈凍凙凜凱別刪剄則剋剎剗剛剝剮剴創剷剾劃劄劇劉劊劌劍劏劑劚勁勑"
    "動務勛勝勞勢勣勩勱勳勵勸勻匭匯匱區協卹卻卽厙厠厤厭厲厴參叄叢吒吳吶呂咼員哯唄唓唸問啓啞啟啢喎喚喪喫喬單喲嗆嗇嗊嗎嗚嗩嗰嗶"
    "嗹嘆嘍嘓嘔嘖嘗嘜嘩嘪嘮嘯嘰嘳嘵嘸嘺嘽噁噅噓噚噝噞噠噥噦噯噲噴噸噹嚀嚇嚌嚐嚕嚙嚛嚥嚦嚧嚨嚮嚲嚳嚴嚶嚽囀囁囂囃囅囈囉囌囑囒囪"
    "圇國圍園圓圖團圞垻埡埨埬埰執堅堊堖堚堝堯報場塊塋塏塒塗塚塢塤塵塸塹塿墊墜墠墮墰墲墳墶墻墾壇壈壋壎壓壗壘壙壚壜壞壟壠壢壣壩"
    "壪壯壺壼壽夠夢夥夾奐奧奩奪奬奮奼妝姍姦娙娛婁婡婦婭媈媧媯媰媼媽嫋嫗嫵嫺嫻嫿嬀嬃嬇嬈嬋嬌嬙嬡嬣嬤嬦嬪嬰嬸嬻孃孄孆孇孋孌孎孫"
    "學孻孾孿宮寀寠寢實寧審寫寬寵寶將專尋對導尷屆屍屓屜屢層屨屩屬岡峯峴島峽崍崑崗崙崢崬嵐嵗嵼嵽嵾嶁嶄嶇嶈嶔嶗嶘嶠嶢嶧嶨嶮嶸嶹"
    "嶺嶼嶽巊巋巒巔巖巗巘巰巹帥師帳帶幀幃幓幗幘幝幟幣幩幫幬幷幹幾庫廁廂廄廈廎廕廚廝廞廟廠廡廢廣廧廩廬廳弒弔弳張強彃彄彆彈彌彎"
    "彔彙彠彥彫彲彿後徑從徠復徵徹徿恆恥悅悞悵悶悽惡惱惲惻愛愜愨愴愷愻愾慄態慍慘慚慟慣慤慪慫慮慳慶慺慼慾憂憊憐憑憒憖憚憢憤憫憮"
    "憲憶憸憹懀懇應懌懍懎懞懟懣懤懨懲懶懷懸懺懼懾戀戇戔戧戩戰戱戲戶扞拋拚挩挱挾捨捫捱捲掃掄掆掗掙掚掛採揀揚換揮揯損搖搗搧搵搶"
    "摋摐摑摜摟摯摳摶摺摻撈撊撏撐撓撝撟撣撥撧撫撲撳撻撾撿擁擄擇擊擋擓擔據擟擠擡擣擫擬擯擰擱擲擴擷擺擻擼擽擾攄攆攋攏攔攖攙攛攜"
    "攝攢攣攤攪攬敎敓敗敘敵數斂斃斅斆斕斬斷斸於旂旣昇時晉晛晝暈暉暐暘暢暫曄曆曇曉曊曏曖曠曥曨曬書會朥朧朮東枴柵柺査桱桿梔梖梘"
    "梜條梟梲棄棊棖棗棟棡棧棲棶椏椲楇楊楓楨業極榘榦榪榮榲榿構槍槓槤槧槨槫槮槳槶槼樁樂樅樑樓標樞樠樢樣樤樧樫樳樸樹樺樿橈橋機橢"
    "橫橯檁檉檔檜檟檢檣檭檮檯檳檵檸檻櫃櫅櫍櫓櫚櫛櫝櫞櫟櫠櫥櫧櫨櫪櫫櫬櫱櫳櫸櫻欄欅欇權欍欏欐欑欒欓欖欘欞欽歎歐歟歡歲歷歸歿殘殞"
    "殢殤殨殫殭殮殯殰殲殺殻殼毀毆毊毿氂氈氌氣氫氬氭氳氾汎汙決沒沖況泝洩洶浹浿涇涗涼淒淚淥淨淩淪淵淶淺渙減渢渦測渾湊湋湞湧湯溈"
    "準溝溡溫溮溳溼滄滅滌滎滙滬滯滲滷滸滻滾滿漁漊漍漚漢漣漬漲漵漸漿潁潑潔潕潙潚潛潣潤潯潰潷潿澀澅澆澇澐澗澠澤澦澩澫澬澮澱澾濁"
    "濃濄濆濕濘濚濛濜濟濤濧濫濰濱濺濼濾濿瀂瀃瀅瀆瀇瀉瀋瀏瀕瀘瀝瀟瀠瀦瀧瀨瀰瀲瀾灃灄灍灑灒灕灘灙灝灡灣灤灧灩災為烏烴無煇煉煒煙"
    "煢煥煩煬煱熂熅熉熌熒熓熗熚熡熰熱熲熾燀燁燈燉燒燖燙燜營燦燬燭燴燶燻燼燾爃爄爇爍爐爖爛爥爧爭爲爺爾牀牆牘牴牽犖犛犞犢犧狀狹"
    "狽猌猙猶猻獁獃獄獅獊獎獨獩獪獫獮獰獱獲獵獷獸獺獻獼玀玁珼現琱琺琿瑋瑒瑣瑤瑩瑪瑲瑻瑽璉璊璕璗璝璡璣璦璫璯環璵璸璼璽璾璿瓄瓅"
    "瓊瓏瓔瓕瓚瓛甌甕產産畝畢畫異畵當畼疇疊痙痠痮痾瘂瘋瘍瘓瘞瘡瘧瘮瘱瘲瘺瘻療癆癇癉癐癒癘癟癡癢癤癥癧癩癬癭癮癰癱癲發皁皚皟皰"
    "皸皺盃盜盞盡監盤盧盨盪眝眞眥眾睍睏睜睞瞘瞜瞞瞤瞶瞼矇矉矑矓矚矯硃硜硤硨硯碕碙碩碭碸確碼碽磑磚磠磣磧磯磽磾礄礎礐礒礙礦礪礫"
    "礬礮礱祕祿禍禎禕禡禦禪禮禰禱禿秈稅稈稏稜稟種稱穀穇穌積穎穠穡穢穩穫穭窩窪窮窯窵窶窺竄竅竇竈竊竚竪竱競筆筍筧筴箇箋箏箚節範"
    "築篋篔篘篠篢篤篩篳篸簀簂簍簑簞簡簢簣簫簹簽簾籃籅籋籌籔籙籛籜籟籠籤籩籪籬籮籲粵糉糝糞糧糰糲糴糶糹糺糾紀紂紃約紅紆紇紈紉紋"
    "納紐紓純紕紖紗紘紙級紛紜紝紞紟紡紬紮細紱紲紳紵紹紺紼紿絀絁終絃組絅絆絍絎結絕絙絛絝絞絡絢絥給絧絨絪絰統絲絳絶絹絺綀綁綃綄"
    "綆綇綈綉綋綌綎綏綐綑經綖綜綝綞綟綠綡綢綣綧綪綫綬維綯綰綱網綳綴綵綸綹綺綻綽綾綿緄緇緊緋緍緑緒緓緔緗緘緙線緝緞緟締緡緣緤緦"
    "編緩緬緮緯緰緱緲練緶緷緸緹緻緼縈縉縊縋縍縎縐縑縕縗縛縝縞縟縣縧縫縬縭縮縯縰縱縲縳縴縵縶縷縸縹縺總績繂繃繅繆繈繏繐繒繓織繕"
    "繚繞繟繡繢繨繩繪繫繬繭繮繯繰繳繶繷繸繹繻繼繽繾繿纁纆纇纈纊續纍纏纓纔纕纖纗纘纚纜缽罃罈罌罎罰罵罷羅羆羈羋羣羥羨義羵羶習翫"
    "翬翹翽耬耮聖聞聯聰聲聳聵聶職聹聻聽聾肅脅脈脛脣脥脩脫脹腎腖腡腦腪腫腳腸膃膕膚膞膠膢膩膹膽膾膿臉臍臏臗臘臚臟臠臢臥臨臺與興"
    "舉舊舖舘艙艣艤艦艫艱艷芻苧茲荊莊莖莢莧菕華菴菸萇萊萬萴萵葉葒葝葤葦葯葷蒍蒐蒓蒔蒕蒞蒭蒼蓀蓆蓋蓧蓮蓯蓴蓽蔄蔔蔘蔞蔣蔥蔦蔭蔯"
    "蔿蕁蕆蕎蕒蕓蕕蕘蕝蕢蕩蕪蕭蕳蕷蕽薀薆薈薊薌薑薔薘薟薦薩薳薴薵薹薺藍藎藝藥藪藭藴藶藷藹藺蘀蘄蘆蘇蘊蘋蘚蘞蘟蘢蘭蘺蘿虆虉處虛"
    "虜號虧虯蛺蛻蜆蝀蝕蝟蝦蝨蝸螄螞螢螮螻螿蟂蟄蟈蟎蟘蟜蟣蟬蟯蟲蟳蟶蟻蠀蠁蠅蠆蠍蠐蠑蠔蠙蠟蠣蠦蠨蠱蠶蠻蠾衆衊術衕衚衛衝袞袷裊裏"
    "補裝裡製複褌褘褲褳褸褻襀襇襉襏襓襖襗襘襝襠襤襪襬襯襰襲襴襵覈見覎規覓視覘覛覡覥覦親覬覯覲覷覹覺覼覽覿觀觴觶觸訁訂訃計訊訌"
    "討訏訐訑訒訓訕訖託記訛訜訝訞訟訢訣訥訨訩訪設許訴訶診註証詀詁詆詊詎詐詑詒詓詔評詖詗詘詛詝詞詠詡詢詣試詩詪詫詬詭詮詰話該詳"
    "詵詷詼詿誂誄誅誆誇誋誌認誑誒誕誘誚語誠誡誣誤誥誦誨說誫説誰課誳誴誶誷誹誺誼誾調諂諄談諉請諍諏諑諒諓論諗諛諜諝諞諟諡諢諣諤"
    "諥諦諧諫諭諮諯諰諱諲諳諴諶諷諸諺諼諾謀謁謂謄謅謆謉謊謎謏謐謔謖謗謙謚講謝謠謡謨謫謬謭謯謱謳謸謹謾譁譂譅譆證譊譎譏譑譓譖識"
    "譙譚譜譞譟譨譫譭譯議譴護譸譽譾讀讅變讋讌讎讒讓讕讖讚讜讞谿豈豎豐豔豬豵豶貍貓貗貙貝貞貟負財貢貧貨販貪貫責貯貰貲貳貴貶買貸"
    "貺費貼貽貿賀賁賂賃賄賅資賈賊賑賒賓賕賙賚賜賝賞賟賠賡賢賣賤賦賧質賫賬賭賰賴賵賺賻購賽賾贃贄贅贇贈贉贊贋贍贏贐贑贓贔贖贗贚"
    "贛贜赬趕趙趨趲跡踐踰踴蹌蹔蹕蹟蹠蹣蹤蹳蹺蹻躂躉躊躋躍躎躑躒躓躕躘躚躝躡躥躦躪軀軉車軋軌軍軏軑軒軔軕軗軛軜軝軟軤軨軫軬軲軷"
    "軸軹軺軻軼軾軿較輄輅輇輈載輊輋輒輓輔輕輖輗輛輜輝輞輟輢輥輦輨輩輪輬輮輯輳輶輷輸輻輼輾輿轀轂轄轅轆轇轉轊轍轎轐轔轗轟轠轡轢"
    "轣轤辦辭辮辯農迴逕這連週進遊運過達違遙遜遞遠遡適遱遲遶遷選遺遼邁還邇邊邏邐郟郵鄆鄉鄒鄔鄖鄟鄧鄩鄭鄰鄲鄳鄴鄶鄺酇酈醃醖醜醞"
    "醟醣醫醬醱醲醶釀釁釃釅釋釐釒釓釔釕釗釘釙釚針釟釣釤釦釧釨釩釲釳釴釵釷釹釺釾釿鈀鈁鈃鈄鈅鈆鈇鈈鈉鈋鈍鈎鈐鈑鈒鈔鈕鈖鈗鈛鈞鈠"
    "鈡鈣鈥鈦鈧鈮鈯鈰鈲鈳鈴鈷鈸鈹鈺鈽鈾鈿鉀鉁鉅鉆鉈鉉鉊鉋鉍鉑鉔鉕鉗鉚鉛鉝鉞鉠鉢鉤鉥鉦鉧鉬鉭鉮鉳鉶鉷鉸鉺鉻鉽鉾鉿銀銁銂銃銅銈銊"
    "銍銏銑銓銖銘銚銛銜銠銣銥銦銨銩銪銫銬銱銳銶銷銹銻銼鋁鋂鋃鋅鋇鋉鋌鋏鋐鋒鋗鋙鋝鋟鋠鋣鋤鋥鋦鋨鋩鋪鋭鋮鋯鋰鋱鋶鋸鋹鋼錀錁錂錄"
    "錆錇錈錏錐錒錕錘錙錚錛錜錝錞錟錠錡錢錤錥錦錨錩錫錮錯録錳錶錸錼錽鍀鍁鍃鍄鍅鍆鍇鍈鍉鍊鍋鍍鍒鍔鍘鍚鍛鍠鍤鍥鍩鍬鍭鍮鍰鍵鍶鍺"
    "鍼鍾鎂鎄鎇鎈鎊鎌鎍鎓鎔鎖鎘鎙鎚鎛鎝鎞鎡鎢鎣鎦鎧鎩鎪鎬鎭鎮鎯鎰鎲鎳鎵鎶鎷鎸鎿鏃鏆鏇鏈鏉鏌鏍鏏鏐鏑鏗鏘鏚鏜鏝鏞鏟鏡鏢鏤鏥鏦鏨"
    "鏰鏵鏷鏹鏺鏻鏽鏾鐃鐄鐇鐈鐋鐍鐎鐏鐐鐒鐓鐔鐘鐙鐝鐠鐥鐦鐧鐨鐩鐪鐫鐮鐯鐲鐳鐵鐶鐸鐺鐼鐽鐿鑀鑄鑉鑊鑌鑑鑒鑔鑕鑞鑠鑣鑥鑪鑭鑰鑱鑲"
    "鑴鑷鑹鑼鑽鑾鑿钁钂長門閂閃閆閈閉開閌閍閎閏閐閑閒間閔閗閘閝閞閡閣閤閥閨閩閫閬閭閱閲閵閶閹閻閼閽閾閿闃闆闇闈闉闊闋闌闍闐闑"
    "闒闓闔闕闖關闞闠闡闢闤闥陘陝陞陣陰陳陸陽隉隊階隑隕際隤隨險隮隯隱隴隸隻雋雖雙雛雜雞離難雲電霑霢霣霧霼霽靂靄靆靈靉靚靜靝靦"
    "靧靨鞏鞝鞦鞽鞾韁韃韆韉韋韌韍韓韙韚韛韜韝韞韠韻響頁頂頃項順頇須頊頌頍頎頏預頑頒頓頔頗領頜頠頡頤頦頫頭頮頰頲頴頵頷頸頹頻頽"
    "顂顃顅顆題額顎顏顒顓顔顗願顙顛類顢顣顥顧顫顬顯顰顱顳顴風颭颮颯颰颱颳颶颷颸颺颻颼颾飀飄飆飈飋飛飠飢飣飥飦飩飪飫飭飯飱飲飴"
    "飵飶飼飽飾飿餃餄餅餈餉養餌餎餏餑餒餓餔餕餖餗餘餚餛餜餞餡餦餧館餪餫餬餭餱餳餵餶餷餸餺餼餾餿饁饃饅饈饉饊饋饌饑饒饗饘饜饞饟"
    "饠饢馬馭馮馯馱馳馴馹馼駁駃駉駊駎駐駑駒駓駔駕駘駙駚駛駝駞駟駡駢駤駧駩駪駫駭駰駱駶駸駻駼駿騁騂騃騄騅騉騊騌騍騎騏騑騔騖騙騚"
    "騜騝騞騟騠騤騧騪騫騭騮騰騱騴騵騶騷騸騻騼騾驀驁驂驃驄驅驊驋驌驍驎驏驓驕驗驙驚驛驟驢驤驥驦驨驪驫骯髏髒體髕髖髮鬆鬍鬖鬚鬠鬢"
    "鬥鬧鬨鬩鬮鬱鬹魎魘魚魛魟魢魥魦魨魯魴魵魷魺魽鮀鮁鮃鮄鮅鮆鮈鮊鮋鮍鮎鮐鮑鮒鮓鮚鮜鮝鮞鮟鮠鮡鮣鮤鮦鮪鮫鮭鮮鮯鮰鮳鮵鮶鮸鮺鮿鯀"
    "鯁鯄鯆鯇鯉鯊鯒鯔鯕鯖鯗鯛鯝鯞鯡鯢鯤鯧鯨鯪鯫鯬鯰鯱鯴鯶鯷鯻鯽鯾鯿鰁鰂鰃鰆鰈鰉鰊鰋鰌鰍鰏鰐鰑鰒鰓鰕鰛鰜鰟鰠鰣鰤鰥鰦鰧鰨鰩鰫鰭"
    "鰮鰱鰲鰳鰵鰶鰷鰹鰺鰻鰼鰽鰾鱀鱂鱄鱅鱆鱇鱈鱉鱊鱒鱔鱖鱗鱘鱚鱝鱟鱠鱢鱣鱤鱧鱨鱭鱮鱯鱲鱷鱸鱺鳥鳧鳩鳬鳲鳳鳴鳶鳷鳼鳽鳾鴀鴃鴅鴆鴇"
    "鴉鴐鴒鴔鴕鴗鴛鴜鴝鴞鴟鴣鴥鴦鴨鴮鴯鴰鴲鴳鴴鴷鴻鴽鴿鵁鵂鵃鵊鵏鵐鵑鵒鵓鵚鵜鵝鵟鵠鵡鵧鵩鵪鵫鵬鵮鵯鵰鵲鵷鵾鶄鶇鶉鶊鶌鶒鶓鶖鶗"
    "鶘鶚鶠鶡鶥鶦鶩鶪鶬鶭鶯鶰鶱鶲鶴鶹鶺鶻鶼鶿鷀鷁鷂鷄鷅鷉鷊鷐鷓鷔鷖鷗鷙鷚鷟鷣鷤鷥鷦鷨鷩鷫鷭鷯鷲鷳鷴鷷鷸鷹鷺鷽鷿鸂鸇鸊鸋鸌鸏鸑"
    "鸕鸗鸘鸚鸛鸝鸞鹵鹹鹺鹼鹽麗麥麨麩麪麫麬麯麲麳麴麵麷麼麽黃黌點黨黲黴黶黷黽黿鼂鼉鼕鼴齊齋齎齏齒齔齕齗齘齙齜齟齠齡齣齦齧齩齪"
    "齬齭齮齯齰齲齴齶齷齼齾龍龎龐龑龓龔龕龜龭龯鿁鿓"
)
# Frequent Simplified-only characters that must not appear in a Traditional line (a heuristic
# list: characters that are also valid Traditional forms, such as 台 里 吃 准 只 后, are left out).
SIMP_ONLY = frozenset(
    "个们谢这问来没还请吗说时会点费号电过机车给开办话钱发业现经帮师报员对让务门两单别诉换间题账医课结证买网气赔转户样楼带动实"
    "写区为订价处误续递码补线险检礼体装刚认货预贵热挂坏飞进终约养满统录场响诊听边术数学备连应东当确妈专错护评销态总队维卖记调"
    "签烦关责难内条头担决虽谁从营长显儿验张块该稳试贴导亲却讲额银宽抢级缴药图据偿厅丢释灯种负见万联觉运积细柜冻质凭骗顾规书监"
    "无计赶设盗笔异厂视惊国须软烧饭协荐变项脑产况节岁则频举压吓贷资邮随团历舱语层优赞驿财脸卫栋净盘远编马顺适轮读执戏领传断库"
    "双宝乱广际够扬购温怀鱼丝税构页标达迟猫旧虚询紧爱启识损输鲜习归环腾绑汤厨齐疗钥赠亏红较减谱诺虑厉兑闪声载审乐汇违骂链绝墙"
    "尽职盖离摆凉哟沟组奖励详纳阳携败测针权观宠风诈纸辆顶渗强缓馈画闻伙扫围径选参访赛欢镜刹独仪钻铃迹滚谈颜蓝陈咨叠闭币临纪脚"
    "涨灵杂烛桩龙删绕简哒档恶铁宾洒饮钢摇议诚恳婴继黄阶绒阀诿迁毕创刘贩闹属洁论坛肤胆拨状严伤绩称纯涤纶驳胶仓蜗舰闺坠络叹获储"
    "练轻窝饼惯绿树极挡锻炼灭粤邻竞许将册缀弹骤脏众谓虫训盐饱摊虾兴葱宫鸡抠横祸垫犹争篮济矿锈炉蜡园栏罚琐辅脱骚扰纠纷馒霉愿饰"
    "鉴锁隐钣喷废钓击战华苹剧帅滞滨类闸粪织译帘晒厢娱碍晕暂础呗夸渐烂嚣庆帧弃壶灶驶懒铺缩静肿寿闷仅拧侬晓县捡壮赖"
)


def norm(text):
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in text if ch.isalnum())


def bigrams(text):
    n = norm(text)
    if len(n) < 2:
        return frozenset([n]) if n else frozenset()
    return frozenset(n[i:i + 2] for i in range(len(n) - 1))


def similar_pairs(sets, threshold):
    """Yield (i, j, jaccard) for i < j with jaccard >= threshold (inverted index on bigrams)."""
    index = collections.defaultdict(list)
    for i, s in enumerate(sets):
        for g in s:
            index[g].append(i)
    for i, s in enumerate(sets):
        if not s:
            continue
        shared = collections.Counter()
        for g in s:
            for j in index[g]:
                if j > i:
                    shared[j] += 1
        for j, c in shared.items():
            jac = c / (len(s) + len(sets[j]) - c)
            if jac >= threshold:
                yield i, j, jac


def main(argv):
    path = argv[1] if len(argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "customer.jsonl")
    errors = []

    def fail(msg):
        errors.append(msg)

    recs = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                fail("line %d: empty line" % n)
                continue
            try:
                r = json.loads(line)
            except ValueError as e:
                fail("line %d: not JSON (%s)" % (n, e))
                continue
            if not isinstance(r, dict) or list(r.keys()) != FIELDS:
                fail("line %d: fields must be exactly %s" % (n, FIELDS))
                continue
            recs.append((n, r))

    ids = set()
    group_split = {}
    for n, r in recs:
        where = "line %d (%s)" % (n, r.get("id"))
        if not isinstance(r["id"], str) or not re.fullmatch(r"s-\d{5}", r["id"]):
            fail("%s: bad id" % where)
        elif r["id"] in ids:
            fail("%s: duplicate id" % where)
        ids.add(r["id"])
        t = r["text"]
        if not isinstance(t, str) or not 2 <= len(t) <= 80:
            fail("%s: text must be a string of 2..80 characters" % where)
            continue
        if t != t.strip():
            fail("%s: leading/trailing whitespace" % where)
        if r["label"] not in LABELS:
            fail("%s: bad label %r" % (where, r["label"]))
        if not isinstance(r["anger"], bool):
            fail("%s: anger must be true/false" % where)
        if r["anger"] and r["label"] != "negative":
            fail("%s: anger is true on a %s line" % (where, r["label"]))
        if r["kind"] not in KIND_LABEL:
            fail("%s: bad kind %r" % (where, r["kind"]))
        elif r["label"] not in KIND_LABEL[r["kind"]]:
            fail("%s: kind %s cannot be %s" % (where, r["kind"], r["label"]))
        if r["kind"] == "anger" and not r["anger"]:
            fail("%s: kind anger needs anger=true" % where)
        if r["script"] not in SCRIPTS:
            fail("%s: bad script %r" % (where, r["script"]))
        if r["style"] not in STYLES:
            fail("%s: bad style %r" % (where, r["style"]))
        if r["domain"] not in DOMAINS:
            fail("%s: bad domain %r" % (where, r["domain"]))
        if r["split"] not in SPLITS:
            fail("%s: bad split %r" % (where, r["split"]))
        if not isinstance(r["group"], str) or not re.fullmatch(r"s-g\d{4,}", r["group"]):
            fail("%s: bad group %r" % (where, r["group"]))
        elif group_split.setdefault(r["group"], r["split"]) != r["split"]:
            fail("%s: group %s spans more than one split" % (where, r["group"]))
        if r["style"] == "asr" and PUNCT.search(t):
            fail("%s: asr line contains punctuation" % where)
        if r["script"] == "simplified":
            bad = sorted(set(c for c in t if c in TRAD_ONLY))
            if bad:
                fail("%s: simplified line has Traditional characters %s" % (where, "".join(bad)))
        elif r["script"] == "traditional":
            if not any(c in TRAD_ONLY for c in t):
                fail("%s: traditional line has no Traditional-only character" % where)
            bad = sorted(set(c for c in t if c in SIMP_ONLY))
            if bad:
                fail("%s: traditional line has Simplified characters %s" % (where, "".join(bad)))

    rows = [r for _, r in recs]
    total = len(rows)
    C = collections.Counter
    label = C(r["label"] for r in rows)
    kind = C(r["kind"] for r in rows)
    style = C(r["style"] for r in rows)
    script = C(r["script"] for r in rows)
    domain = C(r["domain"] for r in rows)
    split = C(r["split"] for r in rows)
    neg = [r for r in rows if r["label"] == "negative"]
    angry = sum(1 for r in neg if r["anger"])

    def pct(a, b):
        return 100.0 * a / b if b else 0.0

    print("lines: %d   groups: %d" % (total, len(group_split)))
    print("label:  " + "  ".join("%s %d (%.1f%%)" % (k, label[k], pct(label[k], total)) for k in LABELS))
    print("anger:  %d of %d negative lines (%.1f%%)" % (angry, len(neg), pct(angry, len(neg))))
    print("kind:   " + "  ".join("%s %d" % (k, kind[k]) for k in KIND_LABEL))
    for k in ("threat", "sarcasm", "complaint", "hard", "mixed"):
        sub = [r for r in rows if r["kind"] == k]
        print("  %-9s " % k + "  ".join(
            "%s%s %d" % (lab, "+anger" if a else "", n)
            for (lab, a), n in sorted(C((r["label"], r["anger"]) for r in sub).items())))
    print("style:  " + "  ".join("%s %d (%.1f%%)" % (k, style[k], pct(style[k], total)) for k in STYLES))
    print("script: " + "  ".join("%s %d (%.1f%%)" % (k, script[k], pct(script[k], total)) for k in SCRIPTS))
    print("domain: " + "  ".join("%s %d" % (k, domain[k]) for k in DOMAINS))
    print("split:  " + "  ".join("%s %d (%.1f%%)" % (k, split[k], pct(split[k], total)) for k in SPLITS))
    for s in SPLITS:
        sub = [r for r in rows if r["split"] == s]
        print("  %-5s  " % s + "  ".join("%s %d" % (k, sum(1 for r in sub if r["label"] == k)) for k in LABELS)
              + "  anger %d" % sum(1 for r in sub if r["anger"]))
    lengths = sorted(len(r["text"]) for r in rows)
    if lengths:
        print("length: min %d  median %d  max %d  (<=5: %d, >=40: %d)" % (
            lengths[0], lengths[len(lengths) // 2], lengths[-1],
            sum(1 for x in lengths if x <= 5), sum(1 for x in lengths if x >= 40)))

    if total < MIN_LINES:
        fail("only %d lines (need %d)" % (total, MIN_LINES))
    for k, (lo, hi) in SHARE.items():
        if total and not lo <= label[k] / total <= hi:
            fail("%s share %.1f%% outside %.0f-%.0f%%" % (k, pct(label[k], total), lo * 100, hi * 100))
    if neg and not ANGER_OF_NEGATIVE[0] <= angry / len(neg) <= ANGER_OF_NEGATIVE[1]:
        fail("anger share of negative lines %.1f%% outside target" % pct(angry, len(neg)))
    for k, m in MIN_KIND.items():
        if kind[k] < m:
            fail("only %d %s lines (need %d)" % (kind[k], k, m))
    if total and kind["mixed"] / total > MAX_MIXED_SHARE:
        fail("too many mixed lines (%d)" % kind["mixed"])
    if total and script["traditional"] / total < MIN_TRADITIONAL:
        fail("traditional share %.1f%% below %.0f%%" % (pct(script["traditional"], total), MIN_TRADITIONAL * 100))
    for k, m in MIN_STYLE.items():
        if total and style[k] / total < m:
            fail("%s share %.1f%% below %.0f%%" % (k, pct(style[k], total), m * 100))
    for k in DOMAINS:
        if domain[k] == 0:
            fail("no line for domain %s" % k)
    for k, target in SPLIT_TARGET.items():
        if total and abs(split[k] / total - target) > SPLIT_TOLERANCE:
            fail("split %s is %.1f%%, target %.0f%%" % (k, pct(split[k], total), target * 100))

    sets = [bigrams(r["text"]) for r in rows]
    seen = {}
    for i, r in enumerate(rows):
        key = norm(r["text"])
        if key in seen:
            fail("duplicate text: %s and %s" % (rows[seen[key]]["id"], r["id"]))
        seen.setdefault(key, i)
    near = leaks = 0
    for i, j, jac in similar_pairs(sets, LEAK):
        a, b = rows[i], rows[j]
        if jac >= NEAR_DUP:
            near += 1
            fail("near-duplicate (%.2f): %s %s | %s %s" % (jac, a["id"], a["text"], b["id"], b["text"]))
        if (a["split"] == "train") != (b["split"] == "train"):
            leaks += 1
            fail("dev/test line resembles a train line (%.2f): %s %s | %s %s"
                 % (jac, a["id"], a["text"], b["id"], b["text"]))
    print("near-duplicate pairs (Jaccard >= %.1f): %d" % (NEAR_DUP, near))
    print("dev/test lines resembling train (Jaccard >= %.1f): %d" % (LEAK, leaks))

    if errors:
        for e in errors[:200]:
            print("FAIL " + e)
        if len(errors) > 200:
            print("FAIL ... and %d more" % (len(errors) - 200))
        print("%d check(s) failed" % len(errors))
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
