"""Writes corpus.jsonl beside this file: the labelled comments the opinion model learns from.

Every comment here was written for this project. Hand-written cores (one situation each, in
many phrasings) are combined with hand-written openers, places, people and endings, with a
fixed seed, so running this again writes the same file byte for byte:

    python content/opinions/generate_corpus.py

Beside them, voices/<class>.txt hold single comments written one at a time, as many different
people write (short and long, slang, typos, dialect, mixed zh-en, emoji), added as they are:
cores and their variants are uniform, and comments from outside are not. The labelled
fixture tests/fixtures/opinions_labelled.jsonl is folded in when it is there, and so are the
retired blind sets tests/fixtures/opinions_blind{,2,3,4}.jsonl: comments written for this
project by people who saw neither the rules nor this corpus, each its own group (their data
cards tell why they train now rather than judge).
Each row: text, lang (zh/en), class, group (the core it was made from: cross-validation keeps
a group in one fold) and, for emergencies, the kind of danger.
"""

from __future__ import annotations

import ast
import json
import random
import re
from pathlib import Path

HERE = Path(__file__).parent
SEED = 20261206
VARIANTS = 4  # decorated variants of each core (duplicates are dropped)
FIXTURE = HERE.parent.parent / "tests" / "fixtures" / "opinions_labelled.jsonl"
VOICES = HERE / "voices"
AUDIENCE = HERE.parent.parent / "outreach" / "clients" / "local" / "audience.py"
"""The local platform's simulated public: comments written for this project, by class."""
RETIRED_BLIND = [HERE.parent.parent / "tests" / "fixtures" / f"opinions_{name}.jsonl"
                 for name in ("blind", "blind2", "blind3", "blind4")]
"""Blind sets that judged the classifier once and then became training data."""
"""Single comments written one by one in many voices (one file per class, one comment a line,
no decoration, each its own group). In emergency.txt each line is ``kind|comment``."""

# --- fillers --------------------------------------------------------------------------

ZH = {
    "place": ["我们小区", "楼下", "隔壁单元", "我家楼上", "小区门口", "地铁站出口", "超市门口", "公园湖边",
              "学校后门", "菜市场", "十字路口", "加油站旁边", "我住的出租屋", "单位宿舍", "村口",
              "桥底下", "停车场", "夜市", "网吧门口", "公交站"],
    "road": ["建设路", "人民路", "解放大道", "光明街", "中山路", "长安街", "滨江路", "学府路", "幸福路",
             "朝阳北路", "环城高速", "二环辅路"],
    "rel": ["我妈", "我爸", "我老公", "我老婆", "我女朋友", "我男朋友", "我姐", "我弟", "我奶奶", "我爷爷",
            "我室友", "我同事", "我女儿", "我儿子", "我表妹"],
    "stranger": ["一个男的", "一个女的", "一个穿黑衣服的人", "两个陌生男人", "一个戴帽子的", "一个中年男人",
                 "几个小年轻", "一个喝醉的人", "一个光头", "一个骑电动车的"],
    "open": ["", "", "", "", "急！", "急急急", "在线等，", "求助！", "有没有人，", "警察同志，", "@平安北京 ",
             "怎么办，", "求转发！", "快看看，", "真的很急，"],
    "end": ["", "", "", "", "快来人", "求求你们快来", "我该怎么办", "在线等", "谁能帮我报个警",
            "我手在抖", "快点啊", "求救", "急死了", "怎么办啊啊啊", "来人啊", "有人能帮忙吗"],
}
EN = {
    "place": ["our building", "the flat upstairs", "next door", "the car park", "the bus stop",
              "the corner shop", "the park by the river", "the school gate", "the underpass",
              "my street", "the night market", "the petrol station", "the metro exit", "our estate",
              "the alley behind the bar"],
    "road": ["Elm Street", "Station Road", "King's Avenue", "Harbour Road", "Mill Lane",
             "the ring road", "Bridge Street", "Park Avenue", "the high street"],
    "rel": ["my mum", "my dad", "my sister", "my brother", "my wife", "my husband", "my girlfriend",
            "my boyfriend", "my flatmate", "my grandma", "my grandad", "my son", "my daughter",
            "my friend", "my neighbour"],
    "stranger": ["a man", "some guy", "a woman", "two men", "a guy in a hoodie", "a drunk man",
                 "a group of lads", "a tall man in a cap", "someone on a scooter", "an older man"],
    "open": ["", "", "", "", "URGENT ", "please ", "pls ", "someone help, ", "@police ", "not joking, ",
             "is anyone there? ", "I don't know who else to ask, "],
    "end": ["", "", "", "", " please", " pls", " what do i do", " please hurry", " someone send help",
            " i'm shaking", " help", " anyone??", " please please", " hurry"],
}


def fill(template: str, pool: dict[str, list[str]], rnd: random.Random) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: rnd.choice(pool[m[1]]), template)


# --- emergencies, by kind of danger --------------------------------------------------
# Each core is happening now, to the writer or someone near them.

EMERGENCY: dict[str, tuple[list[str], list[str]]] = {
    "violence": ([
        "{place}有人拿着刀在追人",
        "{place}两伙人打起来了，有人头上在流血",
        "{stranger}在{place}拿酒瓶砸人，地上全是玻璃",
        "有人在{road}上砍人，大家都在跑",
        "{place}一群人围着一个小伙子打，他已经爬不起来了",
        "{stranger}拿砖头砸一个老大爷，现在还没停手",
        "烧烤摊那边有人抄起凳子打人了，打得很凶",
        "{stranger}在{place}挥着钢管乱打",
        "我被人堵在{place}，他们说要打断我的腿",
        "楼道里有人在砸门叫骂，说要弄死里面的人",
        "KTV包厢里打架，有人被捅了一刀",
        "{stranger}在{place}掐着一个女生的脖子",
        "外卖小哥被几个人按在地上打，现在还在打",
        "有个人在{place}拿着棍子见人就打",
        "刚刚有人在{road}抢了一个阿姨的包，还把她推倒了，人往东边跑了",
        "{stranger}喝多了在{place}砸车，还拿刀比划",
        "网吧里有人在打人，老板也拦不住",
        "楼下有人持械斗殴，十几个人",
        "有人冲进店里见东西就砸，店员躲在柜台后面",
        "我被{stranger}打了，他还在门外骂着要进来",
    ], [
        "{stranger} is swinging a knife at people outside {place}",
        "there's a fight at {place}, one guy is on the ground bleeding and they're still kicking him",
        "{stranger} just smashed a bottle over someone's head at {place}",
        "a gang is attacking a delivery rider on {road} right now",
        "{stranger} with a metal bar is going after people at {place}",
        "two men are beating a teenager behind {place}, he's not getting up",
        "someone got stabbed outside the club on {road}, he's still there",
        "{stranger} is strangling a woman in the stairwell of {place}",
        "they're throwing chairs at each other in the restaurant on {road}, blood on the floor",
        "i'm locked in the toilet at {place}, a man out there wants to beat me up",
        "{stranger} punched an old man at {place} and is still standing over him",
        "a mob is kicking someone outside {place} as i type",
        "guy with a hammer smashing car windows on {road} and threatening anyone who comes near",
        "i just got punched and my phone grabbed at {place}, the guy is running toward {road}",
        "massive brawl at {place}, someone has a blade",
        "{stranger} is waving a knife around in the supermarket on {road}",
        "my neighbour is attacking the landlord with a screwdriver",
        "a man just grabbed a girl by the hair and is dragging her along {road}",
    ]),
    "domestic_violence": ([
        "{rel}又在打我，我躲在厕所里",
        "隔壁又开始打老婆了，女的一直在哭喊",
        "我爸喝醉了在打我妈，我不敢出去",
        "{rel}掐着我的脖子说要弄死我，我刚跑出来",
        "楼上男的在打孩子，孩子哭得撕心裂肺，已经半个小时了",
        "老公拿皮带抽我，我现在锁在卧室里，他在踹门",
        "隔壁一直有女人尖叫和东西摔碎的声音，已经好久了",
        "我姐被她老公打得满脸是血，他还不让她出门",
        "前夫冲到我家来了，拿着菜刀在门口",
        "男朋友把我手机摔了，现在用别人手机发的，他还在外面砸东西",
        "对门又在打架，听到女的喊救命，声音越来越小",
        "我继父在打我弟，我弟才八岁",
        "我被老公打了一晚上，现在他睡着了，我想跑但是不敢",
        "邻居家女的刚才从窗户探出头喊救命，然后被拖回去了",
        "我妈被我爸推下楼梯了，还在骂",
        "他又喝酒了，说今天不打死我不算完",
    ], [
        "my husband is hitting me again, i'm hiding in the bathroom",
        "the woman next door has been screaming for half an hour and i can hear things breaking",
        "{rel}'s boyfriend is beating her right now, i can hear it through the wall",
        "my dad is drunk and hitting my mum, i'm in my room, i'm 14",
        "he has me locked in the bedroom and keeps saying he'll hurt me when he gets back",
        "the man upstairs is beating his kid, the child keeps crying stop stop",
        "my partner just choked me and is blocking the front door",
        "neighbour's wife ran out bleeding and he dragged her back inside",
        "my ex broke in and is shouting that he'll kill me, i'm under the bed",
        "my stepdad threw my brother against the wall and won't stop",
        "i can hear a woman begging him to stop in the flat below",
        "he smashed my phone, using my friend's, he's outside the door with a belt",
        "my boyfriend pushed me down the stairs and is still yelling, i can't stand up",
        "there's a child screaming and a man yelling in flat 6, it's been going on for ages",
    ]),
    "kidnapping_extortion": ([
        "我儿子被人绑了，对方打电话要二十万，说报警就撕票",
        "刚接到电话说我女儿在他们手上，我听到女儿在哭，电话还没挂",
        "有人把我弟弟拉上面包车开走了，车牌没看清，往{road}方向",
        "我孩子放学没回来，有人发短信说拿钱赎人",
        "{stranger}把一个小孩抱上车就开走了，孩子一直在哭喊",
        "对方说我老公在他们手里，让我现在转五万，不转就砍他手指",
        "我被骗到这里扣着，他们收了我护照，不让我走，这是偷偷发的",
        "有人勒索我，说不给钱今晚就来我家，现在还在门外",
        "一个女孩被几个人硬拖上车，在{place}，刚刚发生的",
        "我表妹发消息说被人关在一个小房间里，不知道在哪",
        "有人威胁我儿子，说不拿钱就打断他的腿，人现在被他们带走了",
        "对方视频里绑着我爸，让我一个小时内打钱",
        "我女儿发定位给我，说有人一直不让她下车",
        "商场里一个男的抱着一个不停哭的小孩往外走，孩子一直喊不认识他",
    ], [
        "someone called saying they have my son and want money now, i can hear him crying,"
         " they're still on the line",
        "a man just pulled a little girl into a white van at {place}, headed for {road}",
        "they're threatening to hurt my daughter unless i pay within the hour, the call is still going",
        "my brother messaged that he's being held in a flat and they took his passport",
        "got a video of my dad tied up, they want a transfer tonight",
        "a kid is screaming he doesn't know this man who is carrying him out of {place}",
        "some guys forced my friend into a car outside {place}, we don't know where they went",
        "they say they'll hurt my kid if i call police, they have him, what do i do",
        "i'm being held and they won't let me leave, sending this while they're outside",
        "somebody grabbed a teenager and shoved her in the back of a car on {road}",
        "a man is demanding money and says he has my sister, she's not answering her phone",
        "kidnappers just sent me a photo of my son and an account number",
    ]),
    "fire_smoke": ([
        "{place}着火了，火很大，楼上还有人",
        "我家厨房着火了，灭不掉",
        "楼道里全是烟，门把手是烫的，我们出不去",
        "对面楼冒黑烟，窗户里能看到火苗",
        "电动车在楼道里烧起来了，烟往上窜",
        "隔壁仓库起火了，还有人在里面喊",
        "我们被浓烟困在{place}十楼，下不去",
        "出租屋电线冒火花，现在烧起来了",
        "{place}那边山上着火了，快烧到村子了",
        "宿舍楼起火了，楼梯全是烟",
        "有人在楼下放火烧车",
        "火从楼下窜上来了，我和孩子在阳台上",
        "商场里冒烟了，大家都在往外挤",
        "门缝里一直往里进烟，外面很烫",
    ], [
        "the building across from {place} is on fire and there are people at the windows",
        "my kitchen is on fire and i can't put it out",
        "smoke is coming under our door and the handle is hot, we're stuck on the 9th floor",
        "a car is burning in {place} right next to the houses",
        "e-bike caught fire in the hallway, thick smoke everywhere, kids upstairs",
        "flames coming out of the warehouse on {road}, someone is still inside",
        "our stairwell is full of smoke and we can't get down",
        "there's a fire in the flat below, the smoke is coming up through the floor",
        "the hillside behind {place} is burning and it's moving toward the houses",
        "someone just set fire to the bins against the wall of {place}",
        "fire alarm going off and black smoke pouring from the third floor, no one's coming",
        "me and my kids are on the balcony, the fire is in the hallway",
    ]),
    "gas": ([
        "楼道里煤气味特别重，隔壁老人敲门不应",
        "家里燃气管道在嘶嘶漏气，阀门关不上",
        "{place}一股很浓的燃气味，有人还在抽烟",
        "我们一家人头晕恶心，可能是煤气中毒",
        "对门一直有煤气味，里面住的老太太两天没出门了",
        "餐馆后厨煤气罐漏气了，味道很大",
        "楼下施工挖断燃气管了，一直在往外冒气",
        "浴室热水器那里一股怪味，我妈洗澡晕倒了",
        "烧炭取暖的那家人叫不醒了",
        "单元门口燃气味重得呛人，好几家都闻到了",
    ], [
        "strong smell of gas in the hallway and the old man next door isn't answering his door",
        "the gas pipe in our kitchen is hissing and the valve won't close",
        "whole family has headaches and feels sick, the carbon monoxide alarm just went off",
        "workers cut a gas main on {road}, you can hear it rushing out",
        "there's a really strong gas smell in {place} and someone is lighting a cigarette",
        "my mum collapsed in the shower, the water heater smells weird",
        "gas smell coming from flat 4, the lady inside hasn't been seen in two days",
        "the restaurant's gas cylinder is leaking and they're still cooking",
        "neighbours used a charcoal burner indoors and now they won't wake up",
    ]),
    "drowning": ([
        "有小孩掉河里了，在{place}，还在扑腾",
        "水库边有人游泳抽筋了，喊救命",
        "冰面裂了，有人掉下去了",
        "一个老人掉进湖里了，没看到浮上来",
        "两个学生在河边玩被冲走了",
        "{place}那边有人跳河了，水流很急",
        "孩子在小区泳池沉底了，救生员不在",
        "江边有人被水卷走了，大家在找绳子",
        "暴雨把车冲进河里了，人还在车里",
        "钓鱼的大爷滑下去了，抓着石头快撑不住了",
        "地下通道积水好深，有辆车淹在里面，里面有人在拍窗",
    ], [
        "a kid fell into the river at {place} and is struggling",
        "someone went through the ice on the lake, they're in the water now",
        "swimmer in trouble off the pier, he's gone under twice",
        "an old man fell in the canal by {place}, i can't see him anymore",
        "car swept into the flooded underpass with people inside banging on the windows",
        "two teenagers got pulled out by the current at the reservoir",
        "a toddler is face down in the pool at our estate",
        "someone jumped off the bridge on {road} into the river",
        "a fisherman slipped off the rocks and is clinging on, waves keep hitting him",
    ]),
    "traffic_injury": ([
        "{road}和{road}路口撞人了，人躺地上不动",
        "电动车被大货车卷到车底了",
        "刚刚一辆车撞了人就跑了，车往{road}开了，人还躺着",
        "高速上连环追尾，有车起火，有人卡在车里",
        "外卖小哥被撞飞了，满头是血",
        "公交车把一个老人刮倒了，腿压在轮子下面",
        "{place}有个司机醉得开不了直线，刚撞了护栏还在开",
        "一辆车在{road}逆行，速度很快，刚差点撞到人",
        "小孩骑车被车撞了，在{place}，哭不出声",
        "摩托车翻了，骑手摔在路中间，后面车还在过",
        "出租车撞进了路边摊，好几个人压在下面",
        "隧道里两车相撞，烟很大，有人被困",
    ], [
        "car just hit a cyclist at the junction of {road}, he's not moving",
        "hit and run on {road}, the driver took off and a woman is lying in the road",
        "pile-up on the ring road, one car is smoking and someone is trapped",
        "a delivery rider got dragged under a lorry at {place}",
        "a drunk driver is weaving all over {road} right now, just clipped a kerb",
        "a car is driving the wrong way down the motorway at speed",
        "motorbike crashed in the middle of {road}, the rider is lying there and cars keep coming",
        "a kid on a scooter got knocked down outside {place}, lots of blood",
        "bus clipped an elderly man and his leg is trapped",
        "van ploughed into the market stalls on {road}, people under it",
    ]),
    "overdose_medical": ([
        "我朋友吃了一整瓶安眠药，现在叫不醒",
        "{rel}突然倒地抽搐，口吐白沫",
        "楼下大爷晕倒了，没有呼吸了",
        "我室友喝了好多酒还吃了药，现在嘴唇发紫",
        "孩子误喝了消毒水，一直在吐",
        "{rel}说胸口疼得厉害，满头大汗，说不出话",
        "地铁上有人突然倒下了，没反应",
        "{stranger}在{place}倒着，脸朝下，叫他没反应",
        "{rel}突然半边脸歪了，话也说不清楚",
        "我表弟注射了什么东西，现在翻白眼",
        "宝宝被东西噎住了，脸都紫了",
        "{rel}被蜂蛰了，脸肿起来喘不上气",
        "工地上有人从架子上摔下来，头着地",
    ], [
        "my friend took a whole bottle of pills and won't wake up",
        "{rel} collapsed and is having a seizure",
        "an old man fell down at {place} and isn't breathing",
        "my flatmate mixed drinks and pills and his lips are going blue",
        "my toddler drank bleach, he keeps vomiting",
        "{rel} has crushing chest pain and is sweating and can't talk properly",
        "someone passed out on the train and isn't responding",
        "{rel}'s face is drooping on one side and her speech is slurred",
        "my cousin injected something and his eyes are rolling back",
        "baby is choking and turning purple",
        "worker fell off the scaffolding at {place}, he's not moving",
        "{rel} got stung and her throat is swelling, she can barely breathe",
    ]),
    "suicide_risk": ([
        "我朋友发了遗书一样的朋友圈，电话打不通，她住{place}",
        "有个人站在{place}楼顶边上，好像要跳",
        "{rel}说不想活了，把自己锁在屋里，里面没动静",
        "我真的撑不下去了，今晚就结束吧",
        "同学发消息说在桥上，跟我说再见",
        "我已经把药都准备好了，对不起大家",
        "{place}天台上坐着一个女生，腿悬在外面",
        "我男朋友刚才说要从阳台跳下去，现在关机了",
        "刀就在手边，不知道还能忍多久",
        "{rel}在微信上跟我告别，说把存款密码发我了，人找不到",
        "有个大叔翻过了{road}桥的栏杆",
        "活着太累了，今晚就去江边",
    ], [
        "my friend just posted a goodbye note and isn't picking up, she lives near {place}",
        "someone is standing on the edge of the roof at {place}",
        "{rel} says she doesn't want to live anymore and locked herself in, it's silent in there",
        "i can't do this anymore, tonight is the night",
        "a man just climbed over the railing of the bridge on {road}",
        "my boyfriend texted that he's going to jump from the balcony, now his phone is off",
        "i have the pills lined up, sorry everyone",
        "there's a girl sitting on the window ledge of the 12th floor at {place}",
        "my brother sent me his passwords and said goodbye, we can't find him",
        "i'm on the bridge now, this is my last post",
    ]),
    "stalking": ([
        "{stranger}从地铁站一直跟着我，我进了便利店他就在门口等",
        "有人跟了我三条街了，我不敢回家",
        "前男友现在就在我家楼下蹲着，已经几个小时了，一直打电话威胁",
        "下班路上有辆车一直慢慢跟着我，我现在躲在{place}",
        "{stranger}跟着我进了电梯，又跟着我出来，现在在我门口",
        "一个男的在{place}一直跟着我女儿，她快到家了，吓哭了",
        "有人在敲我的窗户，这是二楼，已经第三晚了，现在又来了",
        "那个跟踪我的人现在又出现在我公司楼下，手里拿着东西",
        "我一个人在家，门外有人一直在试我的门锁",
        "出租车司机不按导航走，一直往偏僻的地方开",
    ], [
        "{stranger} has followed me from the metro for three streets, i'm in a shop and he's waiting outside",
        "my ex is parked outside my flat again, he's been there for hours and keeps texting threats",
        "a car has been crawling behind me since {place}, i'm hiding in a cafe",
        "a guy followed me into the lift and now he's standing outside my door",
        "someone keeps trying my door handle, i'm home alone",
        "a man has been following my daughter home from {place}, she's almost home and terrified",
        "the taxi driver turned off the route and won't answer me, we're heading out of town",
        "there's someone tapping on my bedroom window again, it's 2am",
        "the man who's been stalking me is outside my work right now",
    ]),
    "trapped_confined": ([
        "电梯卡在两层之间，里面有老人和小孩，已经一个小时了，闷得不行",
        "我被锁在仓库里出不去，手机快没电了",
        "工地塌方有工人被埋了",
        "{rel}被困在家里，门打不开，里面好像晕了",
        "孩子被反锁在车里，太阳晒着，孩子哭不出声了",
        "暴雨把地下车库淹了，有人还在里面",
        "老板把我们锁在厂里不让走，收了身份证",
        "山上迷路了，天黑了，手机只剩5%的电",
        "房子塌了一半，隔壁奶奶还在里面",
        "小孩头卡在防盗窗里了，出不来",
        "我被困在KTV包厢里，他们把门从外面锁了",
        "地铁停在隧道里一个多小时，车厢里有人晕倒了",
    ], [
        "lift stuck between floors with an elderly woman and a baby inside, it's been an hour"
         " and it's getting hot",
        "i'm locked in a storage room and can't get out, phone at 4 percent",
        "a wall collapsed at the building site on {road}, two workers are under it",
        "a baby is locked in a car in the sun at {place}, it's not crying anymore",
        "the underground car park is flooding and someone is still down there",
        "we're lost on the mountain trail, it's dark and cold and my friend can't walk",
        "half the house came down, my neighbour is still inside calling out",
        "my boss locked us in the factory and took our IDs",
        "a kid's head is stuck in the railings at {place}",
        "train stopped in the tunnel for an hour, someone has fainted, no one is telling us anything",
    ]),
    "fraud_in_progress": ([
        "我妈现在正在银行柜台给一个“警察”转钱，电话还开着，怎么拦住她",
        "{rel}被一个说是公检法的人电话控制了，正准备把存款转到安全账户",
        "我爸正在ATM机前面按电话里的人说的操作，我拦不住",
        "对方让我下载会议软件共享屏幕，我已经输了密码，钱正在被转走",
        "我刚转了三万给“客服”，他还让我继续转，说不转之前的就取不回来，现在还在通话",
        "{rel}关着门在跟“领导”视频，说要先垫付二十万，马上就去银行",
        "网上认识的人让我现在把钱转到他给的账户，说半小时后涨价",
        "卡里的钱一笔一笔在被扣，我什么都没操作",
        "奶奶接了电话说孙子出事了要赔钱，她已经拿着存折出门了",
        "{rel}正在给一个刷单的人转第四笔钱了，怎么劝都不听",
    ], [
        "my mum is at the bank right now transferring money to a 'police officer' on the"
         " phone, how do i stop her",
        "{rel} is on the phone with someone claiming to be from the court and is about to move"
         " all their savings to a 'safe account'",
        "my dad is at the ATM following instructions from a caller, he won't hang up",
        "they made me share my screen and now money is leaving my account as we speak",
        "i just sent 30,000 to 'customer service' and they want more, they're still on the line",
        "grandma got a call saying my cousin was arrested and she's on her way to withdraw cash for 'bail'",
        "money is being taken out of my card bit by bit and i didn't do anything",
        "{rel} is sending the fourth payment to a job scam right now and won't listen to me",
        "the guy from the dating app says send the money in the next 30 minutes and my friend is doing it",
    ]),
}

# --- the other classes -------------------------------------------------------------------

OTHER: dict[str, tuple[list[str], list[str]]] = {
    "help": ([
        "上周被骗了八千块，转账记录都在，还能追回来吗",
        "电动车昨晚在{place}被偷了，我该去哪个派出所",
        "钱包丢了，里面有身份证和银行卡，卡已经挂失了，还要做什么",
        "网上买东西付了钱对方把我拉黑了，怎么办",
        "有人用我的照片在网上开号借钱，我该怎么处理",
        "前阵子被刷单骗了两万，报案以后想知道还能做什么",
        "一直有催收电话打到我单位，不是我欠的钱，能管吗",
        "手机被偷了，支付宝里还有钱，求指点",
        "我的游戏账号被人盗了，里面充了好几千",
        "房东不退押金还骂人，这个归你们管吗",
        "老人被保健品骗了好几万，家里人该怎么帮他要回来",
        "快递被人冒领了，物业说不管，我该找谁",
        "网贷平台天天骚扰我通讯录里的人，能报警吗",
        "我被人在网上造谣，截图都留了，怎么维权",
        "孩子的自行车在学校被人偷了，监控能帮忙查吗",
        "打工老板拖欠三个月工资，跑了，怎么办",
    ], [
        "i got scammed out of 5,000 last week buying concert tickets, is there any way to get it back",
        "my bike was stolen from {place} yesterday, which station do i report it to",
        "lost my wallet with my id and bank card, cancelled the card already, what else should i do",
        "someone is using my photos to run a fake profile and ask people for money, please help",
        "debt collectors keep calling my workplace about a loan that isn't mine",
        "my account got hacked and they've been messaging my contacts for money",
        "my grandad paid a fake investment firm a lot of money last month, can police help us",
        "landlord won't return my deposit and stopped answering, what can i do",
        "someone stole my parcel from the lobby, building management won't help",
        "i've been getting threatening messages from an online seller for a week",
        "my employer disappeared owing me two months of wages",
        "someone is spreading lies about me online, i have screenshots, how do i report it",
    ]),
    "tip": ([
        "举报：{road}那个足疗店晚上很可疑，经常有人进进出出",
        "{place}有人在收购银行卡，一张给五百",
        "收到一个短信说医保卡被冻结，让点链接，大家别上当",
        "我们村有人在家里开赌场，每天晚上都有很多车",
        "{road}有辆黑车天天在地铁口拉客，车牌尾号是37",
        "有个微信群专门拉老人买“理财”，我已经截图了",
        "提供个线索，{place}那家店在卖假烟假酒",
        "有人冒充燃气公司的上门收费，刚来过我们楼",
        "小区里有人在卖“免检”的电动车电池，改装的",
        "{road}那个路口的井盖丢了好几天了，晚上很危险",
        "有个号码自称是快递理赔，专门骗人开通借款",
        "{place}晚上有人飙车，声音特别大，天天如此",
    ], [
        "reporting a fake 'customs officer' number that's been calling people in our estate",
        "there's someone buying bank cards for cash outside {place}",
        "got a text saying my parcel is held and to pay a fee at a link, it's a scam, be careful",
        "a house on {road} seems to be running an illegal gambling den, cars all night",
        "there's an unlicensed taxi waiting at {place} every evening overcharging tourists",
        "tip: a shop on {road} is selling fake branded cigarettes",
        "someone going door to door pretending to be from the gas company and asking for cash",
        "there's a missing drain cover on {road}, someone's going to get hurt",
        "people racing cars on {road} every night after midnight",
        "a group chat is recruiting students to 'rent out' their accounts, i have screenshots",
    ]),
    "complaint": ([
        "报警三次了，{place}半夜噪音还是没人管",
        "去派出所办事，窗口的人态度特别差，爱理不理",
        "报案两个月了一点进展都没有，打电话也没人回",
        "出警太慢了，等了一个多小时才来",
        "交警在{road}乱贴罚单，明明没有禁停标志",
        "打了五次电话都占线，到底有没有人在上班",
        "民警来了看一眼就走了，说这种事管不了",
        "办个证跑了四趟，每次都说缺材料",
        "我举报的黑车到现在还在那拉客，举报了有什么用",
        "报警后被民警说是自找的，太寒心了",
    ], [
        "called three times about the noise at {place} and nobody ever came",
        "the officer at the front desk was rude and kept checking his phone",
        "reported my stolen bike two months ago and heard nothing back",
        "waited over an hour for anyone to show up after i called",
        "got a parking ticket on {road} where there's no sign at all",
        "the hotline rang out five times, does anyone work there",
        "the officer just looked and left, said it wasn't worth their time",
        "had to go to the station four times for one form",
        "my report was closed without anyone even calling me",
    ]),
    "inquiry": ([
        "请问身份证丢了在哪里补办",
        "外地人在北京办居住证需要什么材料",
        "想问一下驾照到期了怎么换证",
        "无犯罪记录证明去哪开",
        "电动车上牌要带什么",
        "请问反诈APP在哪下载",
        "护照办理大概要多久",
        "户口迁移需要去哪个部门",
        "晚上派出所有人值班吗",
        "开车被拍了违章，在哪里查",
        "孩子的户口本丢了怎么补",
        "捡到一个钱包应该交到哪",
    ], [
        "how do i replace a lost id card",
        "what documents do i need for a residence permit",
        "how long does a passport renewal take",
        "where can i get a certificate of no criminal record",
        "is the station on {road} open on weekends",
        "what's the number for non-urgent reports",
        "do i need to register my e-bike",
        "where do i hand in a wallet i found",
        "can foreigners report a crime online",
        "how do i check if i have a traffic fine",
    ]),
    "suggestion": ([
        "建议多发一些方言版的防骗视频，老人看得懂",
        "希望{place}晚上能多安排巡逻",
        "能不能出个英文版，小区里外国人挺多",
        "建议在{road}路口装个红绿灯，太危险了",
        "可以考虑进学校讲讲网络安全",
        "要是能在小程序上预约办证就好了",
        "建议把这些提示印成海报贴在电梯里",
        "希望反诈宣传多进菜市场，那边老人多",
    ], [
        "you should make a version of this for older people, bigger text",
        "it would be great to have more patrols around {place} at night",
        "could you post these tips in other languages too",
        "suggest adding a crossing light at {road}, it's dangerous",
        "maybe run a talk at the schools about online safety",
        "would be nice if we could book appointments online",
        "please pin the hotline numbers at the top of the page",
    ]),
    "praise": ([
        "感谢{place}派出所的民警，帮我找回了孩子的书包",
        "说得太好了，已经转给爸妈了",
        "这条很实用，收藏了",
        "为深夜还在巡逻的警察点赞",
        "上次丢了手机，民警两个小时就帮我找回来了，谢谢",
        "这种提醒多发点，我奶奶差点就被骗了，幸好看过你们的视频",
        "平安北京的小编太用心了",
        "辛苦了，注意身体",
    ], [
        "thank you to the officers at {place} who found my son's bike",
        "really useful, sent it to my parents",
        "great advice, saved this",
        "shout out to the night patrol on {road}",
        "my grandma nearly got scammed but remembered your post, thank you",
        "clear and practical as always, keep it up",
        "thanks for the quick response last week",
    ]),
    "negative": ([
        "天天发这些有什么用，骗子还不是一样多",
        "说得容易，真出事了谁管",
        "又是老生常谈，能不能抓几个骗子",
        "形式主义，发完就完事了",
        "提醒有啥用，关键是破案",
        "这种宣传老人根本看不到",
    ], [
        "posting tips won't stop the scammers",
        "easy to say, harder when it's actually happening",
        "same advice every week, how about arresting someone",
        "this is just pr",
        "nobody my parents' age reads this",
        "tips are fine but what about enforcement",
    ]),
    "chatter": ([
        "今天天气不错",
        "哈哈哈哈小编好可爱",
        "转发",
        "前排",
        "打卡",
        "周末愉快",
        "又是加班的一天",
        "这张配图是哪里拍的，好好看",
        "早上好",
        "第一次刷到你们",
        "路过看看",
        "我们这边今天下雪了",
    ], [
        "nice weather today",
        "lol the picture",
        "first",
        "happy friday everyone",
        "morning all",
        "where was the photo taken, looks lovely",
        "just scrolling by",
        "it's snowing here too",
        "my cat is judging me right now",
        "same",
    ]),
    "spam_abuse": ([
        "兼职日结，一部手机就能做，加V详聊",
        "互粉互粉，回关",
        "低价出售粉丝，需要的私聊",
        "你们这帮废物，就会罚款",
        "看我主页，月入过万不是梦",
        "征信修复，黑户也能下款",
        "狗警察滚",
    ], [
        "earn $500 a day from home, click my profile",
        "follow me and i'll follow back",
        "buy cheap followers dm me",
        "useless pigs",
        "crypto doubler, send 1 btc get 2 back",
        "link in bio for free money",
        "go to hell",
    ]),
    "privacy": ([
        "我手机号13912345678，有消息通知我",
        "我的身份证号是110101199001011237，帮我查一下",
        "曝光一下这个人，住在{place}3号楼2单元501",
        "有事联系我邮箱 zhangwei2026@example.com",
        "这个人的电话13588886666，大家打他",
    ], [
        "my number is 07700 900123, call me back",
        "my email is sam.lee@example.com if you need details",
        "this guy lives at flat 5, 12 {road}, everyone go knock on his door",
        "here's my card number 4111 1111 1111 1111 was it stolen",
        "contact me at 13912340000",
    ]),
}

# --- confusers: words of danger that are not an emergency now -------------------------
# (class, zh cores, en cores): questions about "if", past events, news, jokes, our own tips.

CONFUSERS: list[tuple[str, list[str], list[str]]] = [
    ("inquiry", [
        "如果有人跟踪我，应该往哪里跑",
        "万一家里着火了，应该先关煤气还是先跑",
        "遇到有人持刀抢劫该怎么自保",
        "如果看到有人落水，不会游泳的人能做什么",
        "闻到煤气味的时候能开灯吗",
        "要是接到绑架勒索的电话，第一步做什么",
        "发现老人在给骗子转账，家属能让银行冻结吗",
        "如果朋友说不想活了，我应该怎么跟他聊",
        "被困电梯的时候是不是不能扒门",
        "遇到车祸要不要先挪车",
        "有人喝醉了叫不醒，要不要让他侧躺",
        "家暴能不能直接申请人身保护令",
        "电梯困人的话打119还是打物业",
        "孩子误食了药品，送医前家长应该做什么",
    ], [
        "what should i do if someone follows me home",
        "if my kitchen catches fire, should i use water",
        "if i smell gas, is it safe to switch the lights off",
        "how do you help someone who is drowning if you can't swim",
        "if a friend says they want to end it, what should i say",
        "what do i do if i get a call saying my kid has been kidnapped",
        "if i see a car crash, should i move the injured person",
        "can i ask the bank to freeze my dad's account if scammers are talking to him",
        "what's the right number to call if someone is trapped in a lift",
        "how do i report domestic violence next door without them knowing it was me",
        "if someone has a seizure, do you put something in their mouth",
    ]),
    ("help", [
        "去年被家暴过，现在离婚了，但他还会发短信骂我，能处理吗",
        "上个月被骗了三万，已经报案了，想问后续进展",
        "前段时间有人跟踪我，后来没再出现，需要去备案吗",
        "之前家里着过火，保险公司要火灾证明，去哪开",
        "上周车被撞了，肇事司机跑了，调监控要找谁",
        "我妈前几天差点被骗去转账，幸好拦住了，那个号码还一直打来，怎么办",
    ], [
        "my ex hit me last year and now keeps sending abusive messages, can anything be done",
        "i was scammed last month and reported it, how do i check the progress",
        "someone followed me a few weeks ago and i'm still nervous, should i report it",
        "our flat had a fire last year, where do i get the fire report for insurance",
        "someone hit my parked car last week and drove off, how do i get the cctv",
    ]),
    ("chatter", [
        "看新闻说昨天{road}有车祸，大家开车慢点",
        "我老婆说我再不洗碗就杀了我哈哈哈",
        "救命，这个配图笑死我了",
        "今天加班要累死了，救救孩子吧",
        "我要被这道数学题逼疯了，谁来救救我",
        "火锅辣到我喷火🔥",
        "我的工资在被老板“绑架”",
        "急急急！今晚吃什么",
        "这天热得快中暑了",
        "刚才电视剧里那个绑架情节好假",
        "小时候家里着过一次火，到现在还怕",
        "我们楼上装修像在打仗",
        "开会开得想跳楼😂",
        "猫把我的手机摔了，崩溃",
    ], [
        "saw on the news there was a crash on {road} yesterday, drive safe",
        "my wife will kill me if i forget our anniversary again lol",
        "help, this picture made me laugh so hard",
        "this heat is going to kill me",
        "i'm dying at this comment section",
        "my boss is holding my weekend hostage again",
        "the kidnapping plot in that show was so unrealistic",
        "when i was a kid our kitchen caught fire once, still scared of pans",
        "monday is trying to murder me",
        "someone save me from this group chat",
    ]),
    ("praise", [
        "“遇到火灾用湿毛巾捂住口鼻”这条记住了，谢谢",
        "看了你们说的“不明电话不转账”，我妈昨天真挂了一个骗子电话，感谢",
        "“被困电梯不要扒门”，这个知识点好重要，收藏",
        "上次那条防溺水的提醒转给孩子了，谢谢你们",
    ], [
        "'never transfer money to a safe account' - my dad remembered this yesterday, thank you",
        "'cover your mouth with a wet cloth in a fire' noted, thanks",
        "the tip about not forcing a stuck lift door is so useful, saved",
        "shared your drowning safety post with the kids, thank you",
    ]),
    ("tip", [
        "{road}那个河边没有护栏，小孩经常去玩，迟早出事",
        "小区楼道里堆满了电动车在充电，很危险，物业不管",
        "{place}的燃气管道锈得很厉害，有点担心",
    ], [
        "there's no fence along the river at {place} and kids play there every day",
        "people charge e-bikes in our stairwell every night, it's a fire risk",
        "the gas pipe outside {place} is badly rusted, someone should look at it",
    ]),
    ("negative", [
        "又是防诈骗，去年我被骗的钱到现在都没追回来",
        "每次出事才发提醒，早干嘛去了",
    ], [
        "another fraud warning, i still haven't got my money back from last year",
        "always the warnings after something happens",
    ]),
]



# --- more phrasings: short, colloquial, indirect ----------------------------------------

MORE_EMERGENCY: dict[str, tuple[list[str], list[str]]] = {
    "violence": ([
        "打人了打人了，{place}",
        "有人动刀子了",
        "{place}出大事了，有人被砍倒在地上",
        "门外好几个人拿着棍子在喊我名字",
        "那个男的又回来了，手里拎着一把斧头",
        "一个醉汉在{place}见人就踹，已经踹倒两个了",
        "保安被人打晕了，打人的还没走",
        "有人在{road}拿弹弓打路人，已经有人被打中眼睛",
        "我们在吃饭，隔壁桌突然掀桌子打起来了，有人拿刀",
        "邻居拿着刀在楼道里来回走，嘴里说要砍人",
    ], [
        "people fighting with knives outside {place}",
        "he's got a blade and he's coming back",
        "a man is kicking a woman on the ground at {place}",
        "there's a guy with a baseball bat smashing heads outside the pub on {road}",
        "bouncer got knocked out and the guys are still going at it",
        "someone's been glassed at {place}, loads of blood",
        "my neighbour is going door to door with a machete",
        "a group just jumped a kid for his phone on {road}, he's hurt",
    ]),
    "domestic_violence": ([
        "隔壁女的喊了快半小时了，一直有摔东西的声音",
        "楼上天天打，今天打得特别狠，孩子一直叫妈妈",
        "我又被打了，这次他拿了刀",
        "老公说今晚要我好看，把门反锁了",
        "我爸在砸家里的东西，我妈被推到墙上了",
        "我被他打到耳朵听不见了，他还在客厅",
        "对门小孩一直哭喊别打了，已经好久了",
    ], [
        "woman next door has been screaming for like 30 mins, stuff smashing",
        "he hit me again and took my keys so i can't leave",
        "my dad is throwing things at my mum, i can hear her crying",
        "the kid upstairs keeps screaming 'stop daddy', it's been ages",
        "my husband said he'd kill me tonight and he's sharpening a knife",
        "couple below are fighting and she just screamed help",
    ]),
    "kidnapping_extortion": ([
        "电话里说孩子在他们手上，要我别挂电话马上转钱",
        "有人给我发了我女儿被绑的照片，让我今晚准备五十万",
        "我儿子在学校门口被一辆车接走了，不是我们家的人",
        "对方说不给钱就把我的裸照发给我家人，还在逼我，视频还开着",
        "有人把我堵在出租屋，说欠钱不还就不让走",
        "一个陌生人把小孩往车里拽，孩子在喊妈妈",
    ], [
        "they called, they have my daughter, they want money now and said no police",
        "caller says my son's been taken and will get hurt if i hang up, he's still on",
        "someone's blackmailing me with photos and threatening my kid, right now on video call",
        "a stranger is dragging a screaming kid toward a car at {place}",
        "my son was picked up from school by a man we don't know",
        "they're holding my friend in a flat until we pay, they sent a video",
    ]),
    "fire_smoke": ([
        "我们家门外全是烟，门很烫，不敢开",
        "{place}冒烟了，好像是楼下饭店着火",
        "楼上有火光，玻璃都炸了",
        "电瓶车爆燃了，就在我家门口",
        "隔壁屋子在冒火，老人还没出来",
        "整个楼道都是黑烟，看不见路",
        "我被烟堵在房间里，窗户打不开",
    ], [
        "our door is hot and smoke is coming in, we can't get out",
        "flames on the 5th floor of {place}, someone waving from the window",
        "the flat next door is on fire and the old lady hasn't come out",
        "thick black smoke in the stairwell, can't see anything",
        "an e-scooter just exploded in our hallway, fire spreading",
        "i'm stuck in my room with smoke coming under the door",
    ]),
    "gas": ([
        "单元楼里好大一股燃气味，邻居奶奶敲不开门",
        "闻到很重的煤气味，楼下那家人好像晕倒了",
        "厨房燃气一直漏，我头已经晕了",
        "隔壁煤气味很重，喊了半天没人应，里面有个独居老人",
        "地下室里燃气味特别冲，有人在里面干活",
    ], [
        "strong gas smell and the elderly neighbour isn't answering",
        "whole stairwell reeks of gas, the old man in 3B won't open up",
        "i smell gas really strongly and i'm feeling dizzy",
        "gas leak in the basement, workers still down there",
        "there's a hissing sound and gas smell from next door and nobody answers",
    ]),
    "drowning": ([
        "有人掉水里了！在{place}，快",
        "河里有个小孩在挣扎，大人都不会游泳",
        "我朋友游着游着不见了",
        "有人落水了，已经看不到头了",
        "水库里有人喊救命，离岸很远",
        "车掉进河里了，正在往下沉",
    ], [
        "someone's in the water at {place} and not coming up",
        "my mate went under while swimming and we can't see him",
        "a kid is splashing and screaming in the river, no one can swim",
        "car went into the river and it's sinking",
        "person fell off the boat and is being carried away",
    ]),
    "traffic_injury": ([
        "出车祸了，{road}上，有人被撞飞了",
        "有人被车撞了，躺在路中间一动不动",
        "摩托车和小轿车撞了，骑车的流了好多血",
        "一辆大车把电动车压住了，人还在下面",
        "前面有辆车一直在S形开，好几次差点撞到行人",
        "学校门口一个孩子被车撞了",
    ], [
        "crash on {road}, someone's been thrown from the car",
        "a pedestrian got hit and is lying in the road not moving",
        "motorbike vs car, rider is bleeding badly",
        "truck ran over a cyclist, he's still under it",
        "driver swerving all over the road, nearly hit people at the crossing",
        "a kid just got hit by a car outside the school",
    ]),
    "overdose_medical": ([
        "我爸突然晕倒了，怎么叫都不醒",
        "有人倒在{place}，脸色发青",
        "朋友吃了好多药，现在说话不清楚",
        "老人摔倒了，头流血，人也不清醒",
        "我妈突然喘不过气，嘴唇发紫",
        "一个小伙子在{place}抽搐，嘴里吐白沫",
    ], [
        "my dad just collapsed and won't wake up",
        "someone is lying on the floor at {place} turning blue",
        "friend took a load of pills and is slurring",
        "old lady fell, head bleeding, she's confused",
        "my mum suddenly can't breathe and her lips are blue",
        "guy is fitting on the pavement at {place}",
    ]),
    "suicide_risk": ([
        "我不想活了，再见了",
        "对不起，我真的坚持不下去了，药已经吃了",
        "我朋友站在阳台外面，说要跳",
        "{rel}发消息说今晚是最后一次联系我",
        "刚看到一个人站在桥边很久了，一直往下看",
        "我现在在楼顶，风好大",
    ], [
        "i don't want to be here anymore, goodbye",
        "sorry everyone, i already took them",
        "my friend is standing outside the balcony railing saying she'll jump",
        "{rel} said this is the last time i'll hear from him",
        "a man has been standing at the edge of the bridge for ages staring down",
        "on the roof now, it's windy up here",
    ]),
    "stalking": ([
        "有个男的从公交站就一直跟着我，我不敢回家",
        "有人一直在我家门口转悠，还拍照",
        "我好像被人跟踪了，他现在就在我后面",
        "那个人又来了，站在我家楼下盯着我窗户",
        "下夜班，一个人一直跟着我，我走快他也走快",
    ], [
        "a man has followed me since the bus stop, i'm scared to go home",
        "someone keeps walking past my door and taking photos",
        "i think i'm being followed right now, he's right behind me",
        "he's back, standing under my window staring up",
        "walking home from my shift and a guy speeds up whenever i do",
    ]),
    "trapped_confined": ([
        "电梯突然掉了几层停住了，里面有人在喊",
        "我被关在车库里了，喊了半天没人",
        "孩子被锁在车里了，车里好热",
        "爷爷在家里摔倒了起不来，门从里面反锁了",
        "地震把楼梯震塌了，我们在三楼下不去",
        "矿井下面还有人没上来",
    ], [
        "lift dropped and stopped, people inside shouting",
        "i'm locked in the garage and nobody can hear me",
        "kid locked in a hot car at {place}",
        "my grandad fell and can't get up, the door is locked from inside",
        "stairs collapsed, we're stuck on the third floor",
        "people still trapped in the collapsed shop on {road}",
    ]),
    "fraud_in_progress": ([
        "我妈正在转账，对方说是公安局的，我怎么都劝不住",
        "骗子还在跟我爸视频，我爸已经去银行排队了",
        "我刚把验证码告诉对方了，钱正在一笔一笔被转",
        "客服让我开了屏幕共享，现在卡里的钱在被划走",
        "{rel}被投资群骗了，今天还要再投十万，已经在路上",
    ], [
        "my mum is sending money to a 'police officer' right now and won't stop",
        "the scammer is still on video with my dad and he's queueing at the bank",
        "i just gave them the code and money is going out now",
        "'support' has my screen and money is being taken as we speak",
        "{rel} is on the way to the bank to send another 100k to the investment group",
    ]),
}

MORE_OTHER: dict[str, tuple[list[str], list[str]]] = {
    "help": ([
        "我被骗了，对方是个假的投资平台，现在提不出钱",
        "我的微信被盗了，好友都收到了借钱消息，怎么办",
        "我的车被人划了，没有监控，能立案吗",
        "被人骗去做兼职，交了押金对方就失联了",
        "有人一直给我打骚扰电话，换号也没用",
        "家里老人被推销的骗去买了几万块的床垫，能退吗",
        "房子被中介骗了，押金和房租都要不回来",
        "我在网上被人威胁要曝光我的信息，该怎么办",
    ], [
        "i got tricked by a fake investment site and can't withdraw anything",
        "my social account was stolen and my friends are getting asked for money",
        "my car got keyed overnight, is it worth reporting",
        "paid a deposit for a part-time job and the company vanished",
        "someone keeps calling me with threats, changing numbers didn't help",
        "my grandma was pressured into buying a useless mattress for thousands, can she get it back",
    ]),
    "tip": ([
        "举报一个骗子号码，冒充银行说信用卡要降额",
        "{place}有人在发小广告，说是办证刻章",
        "我们楼里有一户天天半夜很多人进出，很可疑",
        "{road}上有人摆摊卖来路不明的手机",
        "发现一个假冒你们的账号在收钱",
        "有人在群里招人“跑分”，大家注意",
    ], [
        "reporting a scam number pretending to be the bank about credit limits",
        "someone is handing out flyers for fake ids at {place}",
        "there's a flat in our block with people coming and going all night, very suspicious",
        "a stall on {road} is selling phones that look stolen",
        "there's a fake account using your name and asking for payments",
    ]),
    "complaint": ([
        "你们的热线打了一下午都没人接",
        "上次报警说的事到现在也没人来处理",
        "窗口工作人员办事拖拉，排了三个小时",
        "我报的案被说证据不足就不管了",
        "交警执法太粗暴了，直接吼人",
    ], [
        "your hotline didn't pick up all afternoon",
        "i reported it weeks ago and nobody has done anything",
        "queued three hours at the counter and they closed the window on me",
        "they said not enough evidence and dropped my case",
        "the traffic officer was shouting at everyone, totally unprofessional",
    ]),
    "inquiry": ([
        "请问临时身份证多久能拿到",
        "外国人在这里丢了护照应该找哪里",
        "摩托车驾照在哪里考",
        "办理出入境证件可以网上预约吗",
        "小孩上户口需要什么证明",
        "交通事故责任认定书多久出来",
    ], [
        "how long does a temporary id take",
        "where should a foreigner go if they lose their passport here",
        "can i book an appointment online for an exit permit",
        "what papers do i need to register a newborn",
        "how long until the accident report is ready",
    ]),
    "suggestion": ([
        "建议在视频里加上字幕，老人耳朵不好",
        "希望能开通微信上的报案入口",
        "可以多做一些短视频，比文字好懂",
        "建议把反诈提醒推送到小区群里",
    ], [
        "please add subtitles to the videos",
        "an online reporting form would help a lot",
        "short videos would reach more people than text posts",
        "maybe send these alerts to the neighbourhood groups",
    ]),
    "praise": ([
        "昨天民警帮我把走丢的老人送回家了，太感谢了",
        "这个提醒太及时了，我刚接到类似电话",
        "你们的视频做得越来越好了",
        "反诈民警真的很负责，追回了我一部分钱",
    ], [
        "officers brought my lost grandad home yesterday, so grateful",
        "this warning came just in time, i got the same call today",
        "your videos keep getting better",
        "the fraud team actually recovered some of my money, thank you",
    ]),
    "negative": ([
        "年年都说，年年有人被骗",
        "发这么多也没见抓到几个",
        "宣传再多也没用，骗子比你们聪明",
    ], [
        "every year the same posts and people still get scammed",
        "lots of posts, not many arrests",
        "the scammers are always one step ahead of these posts",
    ]),
    "chatter": ([
        "今天的配图好有意思",
        "周一又来了",
        "哈哈哈小编今天很皮",
        "下班了下班了",
        "评论区好热闹",
        "我也来凑个热闹",
    ], [
        "love the photo today",
        "monday again",
        "the comments here are wild",
        "finally home from work",
        "just here for the comments",
    ]),
    "spam_abuse": ([
        "刷单日赚三百，宝妈学生都可以，私我",
        "一群饭桶",
        "免费领取手机，点我头像",
    ], [
        "make money fast, message me for details",
        "clowns, all of you",
        "free phone giveaway, check my profile",
    ]),
    "privacy": ([
        "我电话是13800001111，有事打我",
        "我住在{place}5号楼1单元302，有情况可以来找我",
        "这个骗子的身份证号是110101198001010035，大家注意",
    ], [
        "my phone is 13800001111, call me if you hear anything",
        "i live at 5 {road}, flat 2, come by if needed",
        "his email is badguy2026@example.com, spread it",
    ]),
}

MORE_CONFUSERS: list[tuple[str, list[str], list[str]]] = [
    ("inquiry", [
        "怎么判断一个人是不是煤气中毒",
        "被困在电梯里的话，应该一直按警铃吗",
        "碰到醉驾的车在路上乱开，可以直接打122吗",
        "孩子被陌生人搭讪，怎么教他应对",
        "家里老人接到自称公安的电话，怎么判断真假",
        "溺水的人救上来以后要不要控水",
    ], [
        "how can you tell if someone has carbon monoxide poisoning",
        "if you're stuck in a lift, should you keep pressing the alarm",
        "can i call 122 about a drunk driver i see on the road",
        "how do i teach my kid to deal with strangers who approach him",
        "how do i check whether a call from 'the police' is real",
    ]),
    ("chatter", [
        "刚看完一部绑架片，吓死我了",
        "我妈说我再熬夜就打断我的腿哈哈",
        "今天被老板骂得想原地消失",
        "这题好难，救命",
        "楼下小孩练琴练得我想报警哈哈哈",
        "昨天梦见家里着火了，吓醒了",
    ], [
        "just watched a kidnapping movie, so tense",
        "my mum says she'll kill me if i stay up late again haha",
        "this maths homework is going to be the death of me",
        "the kid downstairs practising violin makes me want to call the police lol",
        "dreamt my house was on fire last night, woke up sweating",
    ]),
    ("help", [
        "上个月被跟踪过一次，后来换了路线，但还是害怕，能不能备个案",
        "去年被家暴报过警，现在他出来了又开始发短信，我该怎么办",
    ], [
        "i was followed home last month and still feel unsafe, can i get advice",
        "my ex was arrested last year for hitting me and now he's out and texting again",
    ]),
]

# --- a third hand: everyday comments in other voices ------------------------------------

THIRD_OTHER: dict[str, tuple[list[str], list[str]]] = {
    "help": ([
        "在二手平台卖东西，买家说付款失败让我扫码认证，扫完卡里少了五千",
        "我爸的养老金被一个“专家”拿去投资了，现在人找不到了",
        "快递员说我的包裹丢了要理赔，加了他好友以后让我借款，我没借，但信息都给他了",
        "有人冒充我在朋友圈借钱，已经有两个朋友转了",
        "孩子在游戏里被骗买装备，用了我的支付密码，花了三千多",
        "我的身份证被人拿去注册了公司，现在税务找上门",
        "被前同事在网上辱骂造谣好几个月了，能不能处理",
        "借给朋友五万，他现在不还还拉黑了，这个报警有用吗",
        "车停在小区被人撞了，物业说监控坏了，怎么办",
        "网购的机票被退了，“客服”让我操作退款，我转了两笔才发现不对",
        "在网上找的工作，去了以后让先交培训费，交完就没人管了",
        "有人在我家门口贴了催债的纸，说我欠钱，根本没有的事",
    ], [
        "sold something online and the 'buyer' had me scan a code, now 5,000 is gone from my card",
        "my dad gave his pension to an 'advisor' who has disappeared",
        "someone made a copy of my profile and borrowed money from two of my friends",
        "my kid spent 3,000 on game items using my password after someone tricked him",
        "a company was registered using my id and now the tax office is chasing me",
        "a former colleague has been posting lies about me for months, can you do anything",
        "lent a friend money and he's blocked me, is this a police matter",
        "someone hit my car in our car park and the cctv 'doesn't work', what now",
        "a 'refund agent' got two transfers out of me before i realised",
        "paid a training fee for a job that doesn't exist and they stopped replying",
    ]),
    "tip": ([
        "举报一个直播间，说是卖保健品，其实专门骗老人",
        "{road}公交站旁边的电线杆上贴着“高薪招聘”，电话打过去是刷单",
        "我们小区有人挨家挨户推销“净水器”，说不买水就有毒",
        "有个微信群说能“内部办理”驾照，明显是骗子",
        "{place}后面的空房子晚上有人在里面抽东西，味道很怪",
        "有辆没牌照的面包车在学校附近转了好几天了",
        "有个APP叫什么理财宝，身边好几个人投了钱都取不出来",
        "车站有人冒充志愿者带游客去黑店",
    ], [
        "reporting a livestream selling 'health products' that targets older viewers",
        "posters near the bus stop on {road} advertising 'easy jobs' are a task scam",
        "someone is going door to door in our estate scaring people into buying water filters",
        "a chat group is offering driving licences 'without the test', obviously fake",
        "a van with no plates has been circling the school for days",
        "an investment app a lot of my neighbours use won't let anyone withdraw",
        "people posing as volunteers at the station are steering tourists to rip-off shops",
    ]),
    "complaint": ([
        "我去派出所开证明，被要求回去再拿一个根本不存在的材料",
        "网上办事系统三天打不开，电话也打不通",
        "报警说有人乱停车堵消防通道，来了说不归他们管",
        "民警做笔录的时候一直在玩手机",
        "同样的事情，我被罚了，别人没被罚，凭什么",
        "我投诉的事情说七个工作日回复，已经一个月了",
    ], [
        "i was sent home from the station to fetch a document that doesn't exist",
        "your online service has been down for three days and the phone line too",
        "reported cars blocking the fire lane and was told it's not their job",
        "the officer taking my statement was on his phone the whole time",
        "i got fined and the guy next to me didn't, why",
        "was promised a reply in seven working days, it's been a month",
    ]),
    "inquiry": ([
        "身份证快过期了，异地可以换吗",
        "电动自行车要不要考驾照",
        "夜里被噪音吵，打110合适吗还是打12345",
        "私家车借给朋友开出了事故，谁负责",
        "反诈中心的电话是多少",
        "网上报警的入口在哪",
        "外地车牌在本市限行吗",
        "孩子十六岁可以自己办身份证吗",
        "在街上捡到手机，交给谁比较好",
    ], [
        "can i renew my id in a different city",
        "do i need a licence for an e-bike",
        "is 110 the right number for a noisy neighbour at night or is there another one",
        "who is liable if a friend crashes my car",
        "what's the anti-fraud hotline number",
        "where's the online reporting page",
        "can a 16 year old apply for an id on their own",
        "who should i give a phone i found in the street to",
    ]),
    "suggestion": ([
        "建议出一期专门讲二手平台骗局的",
        "能不能把报警电话做成小卡片发给老人",
        "希望学校门口上下学时间有交警指挥",
        "可以和社区合作，每个月办一次反诈讲座",
        "建议公众号加一个一键举报的功能",
    ], [
        "how about a post on second-hand marketplace scams",
        "could you print the emergency numbers on cards for older people",
        "it'd help to have traffic officers at the school gate at pick-up time",
        "you could team up with the community centre for a monthly talk",
        "please add a one-tap report button to the app",
    ]),
    "praise": ([
        "昨天在{place}看到民警扶老人过马路，好暖",
        "这条太有用了，我妈刚问我这个问题",
        "小编写得通俗易懂，老人都能看懂",
        "谢谢民警连夜帮我找到钱包",
        "看完这个我把爸妈手机的陌生来电都设置拦截了，谢谢提醒",
    ], [
        "saw an officer helping an old man across the road at {place}, lovely",
        "so useful, my mum literally asked me about this today",
        "written so simply even my grandparents get it",
        "thank you for finding my wallet overnight",
        "set up call blocking on my parents' phones after reading this, thanks",
    ]),
    "negative": ([
        "这种文章谁会看，老人又不刷微博",
        "说了半天，还是让我们自己小心",
        "讲得好听，真被骗了钱还是追不回来",
        "建议你们先把自己的热线打通再说吧，说这些没用",
    ], [
        "who reads this, old people aren't on here",
        "so the advice is basically 'be careful yourself'",
        "sounds nice but nobody ever gets their money back",
        "nice words, zero action",
    ]),
    "chatter": ([
        "今天的晚霞好美",
        "有人一起去看电影吗",
        "我家狗也在看这条",
        "周末去哪玩好",
        "楼上的评论笑死",
        "我来晚了",
        "@小李 你看看",
        "好饿，想吃火锅",
        "这个城市的冬天太冷了",
    ], [
        "sunset was amazing tonight",
        "anyone going to the match",
        "my dog is reading this with me",
        "any weekend plans",
        "the reply above made my day",
        "late to the party",
        "@sam look at this",
        "starving, pizza time",
    ]),
    "spam_abuse": ([
        "专业代办信用卡，黑户秒批",
        "高价回收各种购物卡",
        "一帮蛀虫，拿着工资不干活",
        "看我简介有惊喜",
    ], [
        "instant loans no credit check dm me",
        "we buy gift cards top price",
        "bunch of lazy pigs living on our taxes",
        "surprise in my bio",
    ]),
    "privacy": ([
        "我叫王芳，手机13700002222，丢了一只白色的猫，谁看到了联系我",
        "我的银行卡号6222020012345671，是不是被盗刷了",
        "我家电话是13911112222，有活动可以打这个通知我",
    ], [
        "i'm jo, mobile 13700002222, lost a white cat, call me",
        "my bank card 6222020012345671 has charges i didn't make, is it stolen",
        "my home number is 13911112222 for any updates",
    ]),
}

THIRD_CONFUSERS: list[tuple[str, list[str], list[str]]] = [
    ("inquiry", [
        "遇到有人在路边倒地，扶还是不扶，要先打120吗",
        "听说有人假装绑架打电话要钱，接到这种电话第一件事做什么",
        "如果发现邻居家暴，匿名举报可以吗",
        "电动车充电着火了，用水能灭吗",
    ], [
        "if i see someone collapse in the street, should i call an ambulance first",
        "what's the first thing to do if i get one of those fake kidnapping calls",
        "can i report domestic violence next door anonymously",
        "can you put out an e-bike battery fire with water",
    ]),
    ("chatter", [
        "被这部剧虐哭了，男主跳河那段",
        "我的手机快被我摔死了",
        "这周工作要把我压垮了",
        "看到标题吓我一跳，还以为出什么事了",
    ], [
        "that show where the guy jumps off the bridge wrecked me",
        "this week at work is killing me",
        "the headline scared me, thought something had happened",
        "my phone is dying, literally 1 percent",
    ]),
    ("praise", [
        "“陌生来电说孩子出事，先给孩子打电话核实”，这条救了我妈",
        "你们上次说的“电梯被困不要扒门”，今天真用上了，等了十分钟就有人来了",
    ], [
        "'call your child directly before paying anything' - this saved my mum today",
        "remembered your 'don't force a stuck lift door' tip today, help came in ten minutes",
    ]),
]


# --- a fourth hand: the weak classes, and confusers of every kind of danger -------------
# Written after measuring where the rules and the model went wrong: personal data posted with
# a question, small talk that borrows danger words, requests for help after the danger is
# over, and for each kind of danger the same words used in a question, the past, the news,
# fiction, a drill, a joke or a quote of our advice. A few real emergencies that say "not
# joking" or start from the past keep the contrast.

FOURTH_OTHER: dict[str, tuple[list[str], list[str]]] = {
    "help": ([
        "我在网上租房交了三个月押金，房东说房子不租了，钱一直拖着不退",
        "我的快递被人冒领了，驿站说监控只保存三天，还能查吗",
        "有人用我的照片开了个小号，到处加我同学借钱",
        "我奶奶在菜市场被人用假币找零，给了两张一百的，能追回吗",
        "孩子的电话手表在学校被同学抢走了，老师不管，我们该找谁",
        "前男友一直在我们公司楼下等我，说只是想聊聊，我不想见他，能帮我处理吗",
        "我被拉进一个炒股群，投了两万，现在平台打不开了",
        "{rel}的微信被盗了，有人用他的号在家族群里借钱",
        "在{place}丢了钱包，里面有身份证和银行卡，已经挂失了，身份证怎么办",
        "有人在网上发帖说我欠钱不还，还配了我的照片，纯属造谣",
        "我爸被拉去听什么养生讲座，买了两万块的保健品，能退吗",
        "二手车买回来发现里程表被调过，卖家不认账",
        "我在工地干了半年，老板跑了，工资一分没拿到",
        "邻居的狗咬了我孩子，已经打了疫苗，邻居不肯出医药费",
        "停在{road}的电动车电瓶被偷了，这是第二次了",
        "网上买的演唱会门票是假的，卖家已经把我拉黑了",
        "有人冒充快递给我打电话说包裹有违禁品，我挂了，但他知道我的名字和地址",
        "我的银行卡被冻结了，银行说是涉案，我根本不知道怎么回事",
        "帮朋友办了张卡，现在说这张卡被用来洗钱，我会不会有事",
        "老家的房子被亲戚占了不让我们回去住，派出所能管吗",
        "我前几天被人在地铁上偷拍了，当时没反应过来，有照片能立案吗",
        "孩子在网上认识了一个网友，说要寄礼物问了家里地址，我有点担心",
        "外卖员把我的餐偷吃了还骂人，平台不处理",
        "租的车还回去以后车行说车被刮了要赔五千，我没刮过",
        "一直有人往我门上贴小广告，撕了又贴，能不能查一下是谁",
    ], [
        "paid a three month deposit for a flat online and the landlord keeps delaying the refund",
        "someone signed for my parcel with a fake name and the shop only keeps cctv for three days",
        "someone set up an account with my photos and is asking my classmates for money",
        "my grandma was given two fake 100 notes as change at the market, can anything be done",
        "a classmate took my son's smartwatch at school and the teacher won't deal with it",
        "my ex keeps waiting outside my office saying he just wants to talk, i don't want to see him",
        "joined a stock tips group, put in 20,000 and now the platform won't open",
        "{rel}'s wechat got hacked and someone is borrowing money in the family group",
        "lost my wallet at {place} with my id and bank cards, cards are cancelled but what about the id",
        "someone posted online that i owe them money, with my photo, it's completely made up",
        "my dad was talked into buying 20,000 worth of supplements at a health seminar, can he get it back",
        "the used car i bought had its mileage wound back and the seller denies it",
        "worked six months on a building site and the boss disappeared without paying anyone",
        "my neighbour's dog bit my kid, he's had his jabs but the neighbour won't pay anything",
        "the battery was stolen off my e-bike on {road}, second time this year",
        "the concert tickets i bought online were fake and the seller blocked me",
        "my bank account has been frozen for 'involvement in a case' and i have no idea why",
        "a relative moved into our family home and won't let us back in, is that something you deal with",
        "someone took photos up my skirt on the metro last week, i have a picture of him, can i report it",
        "my kid met someone online who asked for our home address to 'send a gift', should i worry",
        "the car rental place says i scratched the car and wants 5,000, i didn't",
        "someone keeps sticking adverts on my door every night, can you find out who",
        "i bought a second-hand phone and it turned out to be reported stolen, what happens now",
    ]),
    "privacy": ([
        "我叫刘洋，电话13512348765，昨天在{place}捡到一个黑色书包，失主联系我",
        "身份证号是320102198806154321的那位，你的证件在我这",
        "我老婆手机号18611112233，她在{place}走丢的狗找到了麻烦转告她",
        "王老师的电话是13698765432，大家有事直接打",
        "我的住址是{road}18号3单元402，快递一直送不到，帮我看看",
        "我家门牌是幸福小区7号楼1单元602，有人能把社区通知送来吗",
        "发个我的邮箱 chenjing88@example.com，你们的宣传资料发我一份",
        "我的银行卡号是6212260200112233445，上个月少了一笔钱",
        "大家帮我找找这个人，他叫赵磊，电话15800001111，欠我钱不还",
        "这是我的车牌和电话，京A12345，13366668888，挡路了打给我",
        "我是{place}的业主孙丽，手机13900002468，有问题微信同号",
        "我的护照号E12345678，在机场丢了，有人捡到吗",
        "我身份证号码110105199203031234，办居住证要带什么",
        "我女儿叫林小雨，在实验小学三年二班，电话13811223344，请多关照",
        "我的QQ是12345678，想加入你们的志愿者群",
        "谁捡到我的钱包了，里面有工行卡6222081234567890，电话13712344321",
        "我的手机号13544556677，被骚扰电话打爆了",
        "我家住{road}66号院2号楼，楼下的路灯坏了",
    ], [
        "i'm li na, phone 13512348765, found a black backpack at {place} yesterday, owner please call",
        "my wife's number is 18611112233, please tell her the dog she lost at {place} has been found",
        "mr wang's mobile is 13698765432 if anyone needs him",
        "my address is 18 {road}, flat 402, parcels never arrive, can you look into it",
        "here's my email chen.jing88@example.com, please send me your leaflets",
        "my card number is 6212260200112233445 and there's a payment i didn't make last month",
        "this man owes me money, his name is zhao lei and his number is 15800001111, spread it",
        "plate ABC123, my number 13366668888, call me if i'm blocking you",
        "i'm sun li from {place}, mobile 13900002468, same on wechat",
        "my passport number is E12345678, lost it at the airport, has anyone handed it in",
        "my id number is 110105199203031234, what do i need for a residence permit",
        "my daughter lin xiaoyu is in class 3 at the primary school, call me on 13811223344",
        "my phone 13544556677 is getting spam calls all day, can you check",
        "anyone found my wallet? it has my card 6222081234567890, call 13712344321",
        "i live at 66 {road}, building 2, the street light outside is broken",
        "my email is lee.sam2026@example.com, please reply there instead of here",
        "my home phone is 13911113333 and i'm free after six if an officer wants to call",
    ]),
    "chatter": ([
        "今天又是被闹钟追杀的一天",
        "我家猫把我的耳机线咬断了，这是谋杀",
        "刚看完这条，默默去检查了家里的门锁",
        "楼上邻居又在剁饺子馅，咚咚咚的",
        "这个月的花呗账单吓得我心脏病都要犯了",
        "看到标题我以为又出什么大事了，点进来是科普",
        "今天下雨，地铁里挤成沙丁鱼",
        "我已经在排队办证排了一个小时了，打发时间刷微博",
        "同事点的外卖辣到报警",
        "谁还记得小时候学校放的那个防火动画片",
        "昨天练车被教练骂得怀疑人生",
        "我妈又在家族群转养生文章了",
        "评论区好热闹，搬个小板凳",
        "周五了，终于活过来了",
        "看了这么多骗局，我觉得我可以去当反诈讲师了",
        "小区群里为了停车位吵了一晚上",
        "追剧追到凌晨三点，主角终于逃出来了",
        "我家娃看了你们的视频，现在天天喊“不给陌生人开门”",
        "健身房教练说我这个动作像在打架",
        "这个小编的文案每次都好有梗",
        "下班路上看到一只猫爬树下不来，最后自己下来了",
        "有没有人和我一样，看到110就紧张",
        "今天的天空蓝得不真实",
        "我被自己做的菜辣哭了",
        "考完最后一科，感觉被掏空",
    ], [
        "my alarm clock is out to get me",
        "the cat chewed through my headphones, this is murder",
        "read this and went straight to check the lock on my door",
        "upstairs are chopping dumplings again, bang bang bang",
        "my credit card bill nearly gave me a heart attack",
        "saw the headline and thought something terrible had happened, it's just a tips post",
        "metro was packed like sardines in the rain today",
        "queueing at the permit office for an hour, scrolling to pass the time",
        "the curry at lunch was so hot i nearly called the fire brigade",
        "anyone remember that fire safety cartoon they showed us at school",
        "my driving instructor shouted at me so much today i want to cry",
        "mum is forwarding health articles to the family group again",
        "the comments here are wild, grabbing popcorn",
        "friday at last, i survived the week",
        "i've read so many scam posts i could teach a class now",
        "the residents' group chat fought about parking all night",
        "stayed up till 3am for the finale, the hostage finally escaped",
        "my kid watched your video and now shouts 'don't open the door to strangers' at the postman",
        "my gym coach says my form looks like i'm in a bar fight",
        "whoever writes these posts is hilarious",
        "a cat got stuck up a tree on my way home, then climbed down by itself",
        "the sky is ridiculously blue today",
        "just finished my last exam, i'm a husk",
        "this account is the only police page i follow",
    ]),
    "inquiry": ([
        "家里老人独居，装个烟雾报警器要去哪里买靠谱的",
        "灭火器多久要换一次",
        "燃气报警器响了但闻不到味道，一般是什么原因",
        "小孩学游泳几岁开始比较合适，有没有公益的课",
        "派出所有没有教防身术的课程",
        "家暴的话妇联和派出所是什么关系，先找哪个",
        "网上说的“安全账户”到底是什么意思",
        "反诈APP装了以后会不会看我手机里的东西",
        "走失的老人一般多久能找到，有没有定位手环可以领",
        "交通事故私了的话需要写什么协议",
    ], [
        "where can i buy a decent smoke alarm for my grandad who lives alone",
        "how often do fire extinguishers need replacing",
        "my gas alarm beeps but i can't smell anything, what usually causes that",
        "what age should kids start swimming lessons, are there free ones",
        "does the police run self-defence classes for women",
        "for domestic abuse, is it the women's federation or the police first",
        "what does 'safe account' actually mean in those scam calls",
        "does the anti-fraud app read my messages",
        "are there gps bracelets for elderly people with dementia, where do we get one",
        "if we settle a small car accident ourselves, what should the agreement say",
    ]),
    "tip": ([
        "{place}那个井盖松了好几天了，踩上去会晃",
        "有人在{road}天桥上摆摊卖所谓的“防狼喷雾”，其实是辣椒水，还卖给小孩",
        "小区后门的监控被人故意掰歪了，最近电动车丢了好几辆",
        "我们楼有户人家把煤气罐放在楼道里，好几个月了",
        "有个号码冒充社区给老人打电话，说要上门收“医保卡年检费”",
        "{place}附近有人在收老年人的身份证，说是登记领鸡蛋",
    ], [
        "the manhole cover at {place} has been loose for days, it wobbles when you step on it",
        "a stall on the {road} footbridge is selling 'pepper spray' to schoolkids",
        "the camera at our back gate has been bent to face the wall and bikes keep going missing",
        "a family in our block keeps a gas cylinder in the stairwell, has done for months",
        "someone is phoning old people pretending to be the community office and asking for a 'card fee'",
        "people near {place} are collecting old people's id cards in exchange for free eggs",
    ]),
}

FOURTH_CONFUSERS: list[tuple[str, list[str], list[str]]] = [
    # violence
    ("inquiry", [
        "要是在地铁里碰到有人挥刀，往哪边跑比较安全",
        "正当防卫的界限到底在哪里，被人打了能还手吗",
        "看到有人在街上打架，路人上去拉架会不会被连累",
    ], [
        "if someone pulls a knife on the metro, which way should you run",
        "where's the line for self-defence, can i hit back if someone hits me",
        "if i see a fight in the street, could i get in trouble for stepping in",
    ]),
    ("chatter", [
        "刚看的那部警匪片，最后枪战拍得太燃了",
        "我弟打游戏输了，在屋里喊要砍死对面哈哈",
        "篮球赛打到最后两队差点打起来，还好裁判拦住了",
        "我俩抢最后一块鸡翅差点打起来",
    ], [
        "the shootout at the end of that cop film was unreal",
        "my brother lost his game and is yelling that he'll murder the other team lol",
        "the basketball game nearly turned into a fight but the ref calmed everyone down",
        "me and my sister nearly came to blows over the last chicken wing",
    ]),
    ("help", [
        "上个月在{place}被人打了一拳，当时报了警，伤情鉴定出来了下一步怎么办",
        "之前被人持刀抢过包，人抓到了，被抢的手机什么时候能还给我",
    ], [
        "i was punched outside {place} last month and reported it, the injury report is done, what next",
        "i was robbed at knifepoint in the spring, they caught him, when do i get my phone back",
    ]),
    # domestic violence
    ("inquiry", [
        "邻居家好像经常吵架，但没听到打人，这种情况能报警吗",
        "家暴告诫书是怎么申请的，需要什么证据",
    ], [
        "the couple next door argue a lot but i've never heard anything physical, is it ok to call",
        "how does someone get a domestic violence warning issued, what evidence is needed",
    ]),
    ("chatter", [
        "我妈说我再不找对象就把我扫地出门哈哈",
        "看电视剧里那个家暴的男主，气得我想砸电视",
    ], [
        "mum says she'll throw me out if i don't get married soon haha",
        "the abusive husband in that drama made me want to throw the remote at the tv",
    ]),
    ("praise", [
        "两年前被家暴是你们的民警帮我申请的保护令，现在我和孩子过得很好，谢谢",
    ], [
        "two years ago your officers helped me get a protection order, "
        "the kids and i are doing well now, thank you",
    ]),
    # kidnapping, extortion
    ("inquiry", [
        "孩子在学校门口被陌生人搭话，应该怎么教他拒绝",
        "接到说孩子被绑的电话，怎么分辨是不是骗子",
    ], [
        "how do i teach my daughter to say no when a stranger talks to her at the school gate",
        "how can you tell a fake kidnapping call from a real one",
    ]),
    ("chatter", [
        "我家狗把我的拖鞋“绑架”到它窝里了",
        "周末被朋友绑去爬山，腿废了",
    ], [
        "the dog has kidnapped my slippers again",
        "got kidnapped by friends for a hike this weekend, my legs are gone",
    ]),
    ("praise", [
        "上次看了你们说的假绑架骗局，今天我妈接到类似电话直接挂了，谢谢",
    ], [
        "my mum got a fake kidnapping call today and hung up straight away because of your post, thanks",
    ]),
    # fraud in progress
    ("inquiry", [
        "对方说是公安局的，要我配合调查转账，这种是真的吗",
        "已经转出去的钱，多久内报警还有可能追回",
    ], [
        "someone claiming to be police asked me to transfer money for an investigation, is that ever real",
        "once money has been sent, how quickly do you need to report it to have a chance",
    ]),
    ("help", [
        "上周给骗子转了八千，报了案，银行说要派出所出函才能查，怎么弄",
        "去年被刷单骗了，案子一直没消息，能查一下进展吗",
    ], [
        "sent 8,000 to a scammer last week and reported it, the bank wants a letter from the police",
        "i was caught in a task scam last year and haven't heard anything, can you check the case",
    ]),
    ("chatter", [
        "我每个月的工资都在自动给房东“转账”",
        "刚才差点被淘宝直播骗着买了一堆没用的东西哈哈",
    ], [
        "my salary 'transfers' itself to my landlord every month",
        "nearly got scammed by a livestream into buying a pile of junk lol",
    ]),
    # fire, smoke
    ("inquiry", [
        "高层着火的时候电梯能不能坐",
        "家里电动车电池鼓包了，还能充电吗",
        "厨房油锅起火能不能用湿毛巾盖",
    ], [
        "can you use the lift if there's a fire in a tower block",
        "my e-bike battery has swollen, is it still safe to charge",
        "can you put a wet towel over a pan fire",
    ]),
    ("chatter", [
        "今天公司消防演练，我下楼最快哈哈",
        "老板的脸色今天着火了，大家小心",
        "烧烤的时候烟大得邻居以为着火了",
    ], [
        "fire drill at work today, i was first down the stairs",
        "the bbq smoke was so bad the neighbours thought the house was on fire",
        "my toast set off the smoke alarm again, breakfast ruined",
    ]),
    ("praise", [
        "上周楼下着火，多亏消防来得快，没有人受伤，感谢",
    ], [
        "the fire downstairs last week was out in minutes, nobody hurt, thank you firefighters",
    ]),
    # gas
    ("inquiry", [
        "燃气灶打不着火，一直有咔咔声，会不会漏气",
        "冬天用煤炉取暖，怎么防止一氧化碳中毒",
    ], [
        "my gas hob clicks but won't light, could it be leaking",
        "how do you prevent carbon monoxide poisoning with a coal stove in winter",
    ]),
    ("tip", [
        "{place}那排商铺的燃气管道被货车撞弯了，有人报修了吗",
    ], [
        "a lorry bent the gas pipe outside the shops at {place}, has anyone reported it",
    ]),
    ("chatter", [
        "去年住的房子燃气表老是漏气，搬走后终于安心了",
    ], [
        "our old flat had a dodgy gas meter, so glad we moved",
    ]),
    # drowning
    ("inquiry", [
        "野泳被抓到会罚款吗",
        "暑假孩子去水库游泳，有哪些危险要提醒他",
    ], [
        "can you get fined for swimming in the reservoir",
        "what should i tell my son about the dangers of swimming in the lake this summer",
    ]),
    ("chatter", [
        "小时候在河边玩差点掉下去，现在都不敢靠近水",
        "今天游泳课呛了好几口水，教练说我像在溺水",
    ], [
        "nearly fell in the river as a kid and still avoid water",
        "swallowed half the pool at my swimming lesson today, coach said i looked like i was drowning",
    ]),
    ("praise", [
        "去年夏天我儿子在河边被巡逻的民警劝回来了，现在想想很后怕，谢谢你们",
    ], [
        "last summer an officer on patrol sent my son home from the river, thank you for that",
    ]),
    # medical, overdose
    ("inquiry", [
        "老人吃降压药吃重复了一次要不要紧",
        "学海姆立克急救法哪里有培训",
        "路上有人晕倒，旁人做心肺复苏做错了要负责吗",
    ], [
        "my grandad took his blood pressure pill twice by mistake, is that dangerous",
        "where can i learn the heimlich manoeuvre",
        "if a bystander does cpr wrong, are they liable",
    ]),
    ("chatter", [
        "体检抽血我差点晕倒，太丢人了",
        "今天跑了十公里，感觉心脏要跳出来了",
    ], [
        "nearly fainted at my blood test today, so embarrassing",
        "ran 10k today, thought my heart would burst",
    ]),
    ("praise", [
        "那天我爸在地铁站晕倒，民警一直陪着直到救护车来，谢谢",
    ], [
        "when my dad collapsed at the station that day an officer stayed with him "
        "until the ambulance came, thank you",
    ]),
    # suicide risk
    ("inquiry", [
        "朋友最近总说活着没意思，心理援助热线是多少",
        "怎么跟有抑郁的家人聊天比较好",
    ], [
        "a friend keeps saying life is pointless, what's the mental health helpline number",
        "how do i talk to a family member who's depressed",
    ]),
    ("chatter", [
        "明天要交论文，今晚不想活了哈哈",
        "这周加班加到想跳楼，但是想想房贷还是算了😂",
    ], [
        "deadline tomorrow, i want to die lol",
        "this week at work makes me want to jump out a window 😂",
    ]),
    # traffic
    ("inquiry", [
        "被电动车撞了一下没受伤，需要报警吗",
        "高速上车坏了应该在车后多远放三角牌",
    ], [
        "got bumped by an e-bike, not hurt, do i need to report it",
        "how far behind the car should the warning triangle go on the motorway",
    ]),
    ("help", [
        "前天在{road}被车剐了，对方跑了，我记了车牌，能帮忙查吗",
    ], [
        "a car clipped me on {road} the day before yesterday and drove off, "
        "i got the plate, can you trace it",
    ]),
    ("chatter", [
        "今天早高峰堵得我想弃车跑步上班",
        "驾校教练说我倒库像在撞车现场",
    ], [
        "traffic this morning was so bad i wanted to abandon the car and walk",
        "my instructor said my parking looks like a crash scene",
    ]),
    # trapped
    ("inquiry", [
        "电梯困人物业多久必须到场",
        "车被锁在地下车库出不去，找谁开门",
    ], [
        "how long does building management have to respond when someone is stuck in a lift",
        "my car is locked in the underground car park after hours, who do i call",
    ]),
    ("chatter", [
        "被困在公司开了一下午的会",
        "上次电梯停了五分钟，我在里面把一辈子想了一遍",
    ], [
        "trapped in meetings all afternoon",
        "the lift stopped for five minutes once and my whole life flashed before my eyes",
    ]),
    # stalking, missing
    ("inquiry", [
        "怎么判断是不是被人跟踪了",
        "孩子走失一定要等24小时才能报警吗",
    ], [
        "how can you tell if you're actually being followed",
        "do you really have to wait 24 hours to report a missing child",
    ]),
    ("chatter", [
        "我家猫每天跟踪我进厕所",
        "下班回家总感觉有人跟着，回头一看是我家狗",
    ], [
        "my cat stalks me to the bathroom every morning",
        "felt someone following me home, it was my own dog",
    ]),
    ("praise", [
        "我奶奶走丢那次是你们两个小时就找回来了，一直记着",
    ], [
        "when my grandma wandered off you found her in two hours, we still talk about it",
    ]),
]

FOURTH_EMERGENCY: dict[str, tuple[list[str], list[str]]] = {
    "violence": ([
        "不是开玩笑，{place}有个人拿着砍刀在追人",
        "以前他只是骂人，今天直接拿棍子在{place}打人了",
    ], [
        "no joke, a man with a machete is chasing people at {place}",
        "he used to just shout but tonight he's hitting people with a bar outside {place}",
    ]),
    "domestic_violence": ([
        "他去年就打过我，现在又喝醉了在砸门，说今晚弄死我",
        "不是吵架，是真的在打，隔壁女的一直喊救命",
    ], [
        "he beat me last year and now he's drunk and kicking the door saying he'll kill me tonight",
        "not an argument, he's actually hitting her, she keeps screaming for help",
    ]),
    "fire_smoke": ([
        "不是演习，我们楼真的着火了，楼道全是烟",
        "刚才以为是谁家烧烤，现在窗外全是黑烟，火已经烧上来了",
    ], [
        "this is not a drill, our building is actually on fire and the stairs are full of smoke",
        "thought it was someone's barbecue but now there's black smoke pouring past my window",
    ]),
    "suicide_risk": ([
        "他说不是开玩笑，已经站到天台边上了",
        "我朋友以前也说过想死，可今天她发了告别的话，电话关机了",
    ], [
        "he says he's not joking, he's standing on the roof edge right now",
        "my friend has said things before but tonight she sent goodbye messages and her phone is off",
    ]),
    "kidnapping_extortion": ([
        "不是骗子电话，我刚看到视频，我弟真的被关在一个房间里，他们要钱",
    ], [
        "this isn't one of those fake calls, they sent a video of my brother tied up and want money",
    ]),
    "drowning": ([
        "不是开玩笑，{place}湖里有个小孩在扑腾，没人会游泳",
    ], [
        "not joking, a kid is splashing and going under in the lake at {place}, nobody can swim",
    ]),
    "stalking": ([
        "上周跟踪我的那个男的现在又在我家楼下了，还在看我的窗户",
    ], [
        "the man who followed me last week is outside my building again, staring up at my window",
    ]),
}


# Tips about something seen but not happening to the writer now, and criticism: the
# classes the model confused with emergencies and complaints most often.
FIFTH_OTHER: dict[str, tuple[list[str], list[str]]] = {
    # something suspicious or dangerous seen, reported for you to look into, not happening to
    # the writer now
    "tip": ([
        "{place}有人在卖没有标签的“减肥药”，好几个学生在买",
        "{road}那家洗车店晚上总有人搬箱子进出，门口还有人放风，感觉不对劲",
        "有人在{place}的墙上喷了一串电话号码，写着“办证”",
        "我们村有人用电网捕鱼，河边挂着电线",
        "{place}的护栏被车撞断了一大截，一直没人修",
        "小区地下室有人私拉电线给几十辆电动车充电",
        "楼顶天台的门锁坏了，常有小孩上去玩",
        "有个二手群里在卖“内部考试答案”，收了钱就不回",
        "最近有个男的总在{place}给小孩发糖，问他们住哪",
        "上周在{road}看到有人往共享单车上贴收款码",
        "{place}附近的黑车司机拉客，还会绕路加价",
        "有个号码一直群发“医保卡异常”的短信，带着链接",
        "夜市那边有人摆摊套圈，奖品都粘在地上，骗小孩钱",
        "我们楼下开了家按摩店，半夜还有人进进出出，挺可疑的",
        "{road}的施工坑没有围挡，晚上黑乎乎的",
        "有人冒充物业挨家挨户收“燃气安全检查费”",
    ], [
        "someone at {place} is selling unlabelled 'diet pills' to students",
        "a car wash on {road} has people carrying boxes in and out at night with a lookout by the door",
        "someone has spray-painted a phone number offering fake certificates at {place}",
        "a man keeps giving sweets to kids at {place} and asking where they live",
        "someone is sticking their own payment codes over the ones on rental bikes on {road}",
        "unlicensed taxis at {place} are overcharging and taking long routes",
        "there's a text going around about 'medical card problems' with a dodgy link",
        "the roadworks hole on {road} has no barrier and no lights at night",
        "people pretending to be from building management are collecting a 'gas check fee' door to door",
        "the door to our roof is broken and kids keep going up there",
        "someone is running electric cables in the basement to charge dozens of e-bikes",
        "the crash barrier at {place} has been smashed for weeks and nobody has fixed it",
    ]),
    "negative": ([
        "每次都说提高警惕，真遇到了谁来得及",
        "发再多提醒也没用，骗子换个说法又有人信",
        "这种科普十年前就发过了，一点新意都没有",
        "嘴上说严打，街上的黑车还是一样多",
    ], [
        "always 'stay alert', as if anyone has time when it actually happens",
        "post all the warnings you like, the scammers just change the script",
        "you posted this exact advice ten years ago",
        "all this talk of crackdowns and the unlicensed cabs are still everywhere",
    ]),
}


# --- decoration ------------------------------------------------------------------------

ZH_PUNCT = ["", "", "！", "！！", "。", "…", "!!!", "？？", "啊"]
EN_PUNCT = ["", "", "!", "!!", ".", "...", "??"]


def decorate_zh(core: str, rnd: random.Random, urgent: bool) -> str:
    text = fill(core, ZH, rnd)
    if urgent:
        text = rnd.choice(ZH["open"]) + text
        end = rnd.choice(ZH["end"])
        if end:
            text = text + rnd.choice(["，", " ", "！"]) + end
    text += rnd.choice(ZH_PUNCT)
    if rnd.random() < 0.15:
        text = text.replace("，", " ")
    return text


def decorate_en(core: str, rnd: random.Random, urgent: bool) -> str:
    text = fill(core, EN, rnd)
    if urgent:
        text = rnd.choice(EN["open"]) + text + rnd.choice(EN["end"])
    text += rnd.choice(EN_PUNCT)
    r = rnd.random()
    if r < 0.3:
        text = text[0].upper() + text[1:]
        text = re.sub(r"\bi\b", "I", text)
    elif r < 0.38:
        text = text.upper()
    if rnd.random() < 0.1:
        text = text.replace("you", "u").replace("please", "pls")
    return text


def _audience() -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """The simulated public's comments by class, read from its module without importing the
    package (its one literal ``COMMENTS``; class names as the module spells them)."""
    tree = ast.parse(AUDIENCE.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "COMMENTS":
            assert isinstance(node.value, ast.Dict)
            return {ast.unparse(k).removeprefix("OpinionClass.").lower(): ast.literal_eval(v)
                    for k, v in zip(node.value.keys, node.value.values, strict=True) if k is not None}
    raise ValueError(f"{AUDIENCE}: no COMMENTS")


def generate() -> list[dict[str, str]]:
    rnd = random.Random(SEED)
    rows: list[dict[str, str]] = []
    seen: set[str] = set()

    def add(text: str, lang: str, klass: str, group: str, kind: str | None = None) -> None:
        text = " ".join(text.split())
        if not text or text in seen:
            return
        seen.add(text)
        row = {"text": text, "lang": lang, "class": klass, "group": group}
        if kind:
            row["kind"] = kind
        rows.append(row)

    def cores(name: str, klass: str, zh: list[str], en: list[str], kind: str | None = None) -> None:
        urgent = klass == "emergency"
        for lang, decorate, texts in (("zh", decorate_zh, zh), ("en", decorate_en, en)):
            for i, core in enumerate(texts):
                for _ in range(VARIANTS):
                    add(decorate(core, rnd, urgent), lang, klass, f"{name}.{lang}.{i}", kind)

    for kind, (zh, en) in EMERGENCY.items():
        cores(kind, "emergency", zh, en, kind)
    for kind, (zh, en) in MORE_EMERGENCY.items():
        cores(kind + "+", "emergency", zh, en, kind)
    for klass, (zh, en) in OTHER.items():
        cores(klass, klass, zh, en)
    for klass, (zh, en) in MORE_OTHER.items():
        cores(klass + "+", klass, zh, en)
    for klass, (zh, en) in THIRD_OTHER.items():
        cores(klass + "++", klass, zh, en)
    for n, (klass, zh, en) in enumerate(CONFUSERS + MORE_CONFUSERS + THIRD_CONFUSERS):
        cores(f"confuser{n}", klass, zh, en)
    for kind, (zh, en) in FOURTH_EMERGENCY.items():
        cores(kind + "+++", "emergency", zh, en, kind)
    for klass, (zh, en) in FOURTH_OTHER.items():
        cores(klass + "+++", klass, zh, en)
    for n, (klass, zh, en) in enumerate(FOURTH_CONFUSERS):
        cores(f"confuser+{n}", klass, zh, en)
    for klass, (zh, en) in FIFTH_OTHER.items():
        cores(klass + "++++", klass, zh, en)
    for path in sorted(VOICES.glob("*.txt")):
        klass = path.stem
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            kind = None
            if klass == "emergency":
                kind, line = line.split("|", 1)
            lang = "zh" if re.search(r"[\u4e00-\u9fff]", line) else "en"
            add(line, lang, klass, f"voices.{klass}.{i}", kind)
    if FIXTURE.is_file():
        for i, line in enumerate(FIXTURE.read_text(encoding="utf-8").splitlines()):
            if line.strip():
                r = json.loads(line)
                add(r["text"], r["lang"], r["class"], f"fixture.{i}")
    if AUDIENCE.is_file():
        for klass, langs in _audience().items():
            for lang, texts in zip(("zh", "en"), langs, strict=True):
                for i, text in enumerate(texts):
                    add(text, lang, klass, f"audience.{klass}.{lang}.{i}")
    for path in RETIRED_BLIND:
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
            if line.strip():
                r = json.loads(line)
                add(r["text"], r["lang"], r["class"], f"{path.stem.removeprefix('opinions_')}.{i}",
                    r.get("kind") if r["class"] == "emergency" else None)
    rows.sort(key=lambda r: (r["class"], r.get("kind", ""), r["lang"], r["text"]))
    return rows


def main() -> None:
    rows = generate()
    out = HERE / "corpus.jsonl"
    with out.open("w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} comments to {out}")


if __name__ == "__main__":
    main()
