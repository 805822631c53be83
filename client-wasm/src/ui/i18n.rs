//! English and Chinese interface text. English strings are the keys, so a missing translation
//! shows English rather than nothing.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Lang {
    En,
    Zh,
}

impl Lang {
    /// The stored choice, else the browser's language.
    pub(crate) fn initial() -> Lang {
        let stored = web_sys::window()
            .and_then(|w| w.local_storage().ok().flatten())
            .and_then(|s| s.get_item("shotweave.lang").ok().flatten());
        let tag = stored.or_else(|| web_sys::window().and_then(|w| w.navigator().language()));
        match tag {
            Some(t) if t.starts_with("zh") => Lang::Zh,
            _ => Lang::En,
        }
    }

    pub(crate) fn store(self) {
        if let Some(s) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
            let _ = s.set_item("shotweave.lang", self.tag());
        }
    }

    pub(crate) fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh",
        }
    }
}

pub(crate) fn t(lang: Lang, en: &'static str) -> &'static str {
    if lang == Lang::En {
        return en;
    }
    match en {
        "Projects" => "项目",
        "New project" => "新建项目",
        "Title" => "标题",
        "Language" => "语言",
        "Create" => "创建",
        "Open" => "打开",
        "Forget" => "移除",
        "No projects yet. Create one, or open a link someone shared with you." => {
            "还没有项目。新建一个，或打开别人分享给你的链接。"
        }
        "Script" => "剧本",
        "Storyboard" => "分镜",
        "Characters" => "角色",
        "Assets" => "素材",
        "Share" => "分享",
        "Add scene" => "添加场景",
        "Add shot" => "添加镜头",
        "Delete scene" => "删除场景",
        "Delete shot" => "删除镜头",
        "Total running time" => "总时长",
        "Shot" => "镜头",
        "Scene" => "场景",
        "Description" => "描述",
        "Dialogue" => "对白",
        "Camera" => "机位",
        "Framing" => "景别",
        "Duration (s)" => "时长（秒）",
        "Takes" => "镜次",
        "Use this take" => "选用此镜次",
        "Selected" => "已选用",
        "Upload a take" => "上传镜次",
        "No takes yet" => "还没有镜次",
        "No shots yet" => "还没有镜头",
        "No scenes yet. Add one to start the storyboard." => "还没有场景。添加一个开始分镜。",
        "Close" => "关闭",
        "Add character" => "添加角色",
        "Name" => "姓名",
        "Aliases (comma separated)" => "别名（逗号分隔）",
        "Colour" => "颜色",
        "Reference images" => "参考图",
        "Upload reference image" => "上传参考图",
        "Delete character" => "删除角色",
        "No characters yet" => "还没有角色",
        "Upload a file" => "上传文件",
        "No assets yet" => "还没有素材",
        "uploaded" => "上传",
        "Online" => "在线",
        "Offline" => "离线",
        "Connecting" => "连接中",
        "Syncing" => "同步中",
        "Saved on this device" => "已保存到本机",
        "Saving" => "保存中",
        "Read-only" => "只读",
        "Only you are here" => "只有你在这里",
        "You" => "你",
        "Dismiss" => "关闭",
        "Loading" => "加载中",
        "Viewer link" => "只读链接",
        "Commenter link" => "评论链接",
        "Editor link" => "编辑链接",
        "Copy this link" => "复制此链接",
        "You have no access to this project on this device. Open a link someone shared with you." => {
            "此设备上没有该项目的访问权限。请打开别人分享给你的链接。"
        }
        "Back to projects" => "返回项目列表",
        // versions
        "Activity" => "动态",
        "No edits recorded yet" => "还没有记录到修改",
        "changed {n} shots" => "修改了 {n} 个镜头",
        "edited the script {n} times" => "编辑了剧本 {n} 次",
        "changed {n} characters" => "修改了 {n} 个角色",
        " in {scenes}" => "，场景：{scenes}",
        ", {from} to {to}" => "，{from} 至 {to}",
        "Versions" => "版本",
        "Name the current state" => "为当前状态命名",
        "Version name" => "版本名称",
        "Draft 2 for the director" => "给导演的第二稿",
        "Note (optional)" => "备注（可选）",
        "Name this version" => "保存为版本",
        "Named “{name}”" => "已保存版本“{name}”",
        "Compare the two selected" => "比较选中的两个版本",
        "No versions yet. Name the current state to keep it." => {
            "还没有版本。为当前状态命名即可保存它。"
        }
        "Select “{name}” to compare" => "选择“{name}”进行比较",
        "automatic" => "自动",
        "{time} by {author}" => "{author} 于 {time}",
        "{n} shots" => "{n} 个镜头",
        "1 shot" => "1 个镜头",
        "Approved {n}" => "通过 {n}",
        "Changes requested {n}" => "需修改 {n}",
        "Comments {n}" => "评论 {n}",
        "View" => "查看",
        "Compare with now" => "与当前比较",
        "Restore" => "恢复",
        "Delete version" => "删除版本",
        "Restore “{name}”?" => "恢复到“{name}”？",
        "The project becomes exactly as it was in this version, for everyone working on it. An automatic version of the current state is taken first: restoring that one undoes this restore." => {
            "项目将对所有协作者恢复为该版本的样子。恢复前会自动保存当前状态为一个版本：恢复那个版本即可撤销本次恢复。"
        }
        "Delete “{name}”?" => "删除“{name}”？",
        "The version is deleted for everyone. The live project does not change." => {
            "该版本将对所有人删除。当前项目不受影响。"
        }
        "Restored “{name}”. To undo it, restore “{before}”." => {
            "已恢复到“{name}”。如需撤销，请恢复“{before}”。"
        }
        "Deleted “{name}”" => "已删除“{name}”",
        "This version no longer exists" => "该版本已不存在",
        "This version cannot be opened" => "无法打开该版本",
        "Viewing “{name}” — {time} by {author}" => "正在查看“{name}” — {author} 于 {time}",
        "Viewing a version" => "正在查看版本",
        "read-only" => "只读",
        "Back to the live project" => "返回实时项目",
        "All versions" => "全部版本",
        "The script is empty" => "剧本为空",
        "No scenes yet" => "还没有场景",
        "Compare" => "比较",
        "From" => "从",
        "To" => "到",
        "now" => "当前",
        "No differences" => "没有差异",
        "{n} added" => "新增 {n}",
        "{n} removed" => "删除 {n}",
        "{n} moved" => "移动 {n}",
        "{n} changed" => "修改 {n}",
        "Shots" => "镜头",
        "Scenes" => "场景",
        "Project settings" => "项目设置",
        "Added" => "新增",
        "Removed" => "已删除",
        "Moved" => "已移动",
        "Changed" => "已修改",
        "shot {n} of “{scene}”" => "“{scene}”第 {n} 个镜头",
        "Moved from {from} to {to}" => "从{from}移到{to}",
        "Show on the board" => "在分镜中查看",
        "Show in the old version" => "在旧版本中查看",
        "Show in that version" => "在该版本中查看",
        "before" => "之前",
        "after" => "之后",
        "(empty)" => "（空）",
        "added:" => "新增：",
        "removed:" => "删除：",
        "Line {old} before, line {new} after" => "原第 {old} 行，现第 {new} 行",
        "Duration" => "时长",
        "Selected take" => "选用镜次",
        "Location" => "地点",
        "Time of day" => "时间",
        "Aliases" => "别名",
        "Aspect ratio" => "画幅",
        "Recipe" => "配方",
        // end of versions
        "Characters in shot" => "出场角色",
        "empty frame" => "空画面",
        "Keyboard: arrows move between shots, Alt+arrows reorder, Enter edits, Delete removes, N adds" => {
            "键盘：方向键切换镜头，Alt+方向键调整顺序，回车编辑，Delete 删除，N 添加"
        }
        "Provider" => "生成服务",
        "Generate all" => "全部生成",
        "Generate a take for every shot that has none" => "为每个还没有镜次的镜头生成",
        "Generate frame" => "生成画面",
        "Generate clip" => "生成视频",
        "Generate frame for shot" => "生成画面：镜头",
        "Generate clip for shot" => "生成视频：镜头",
        "Generate scene" => "生成本场景",
        "Queued" => "排队中",
        "Generating" => "生成中",
        "Failed" => "失败",
        "Running" => "进行中",
        "Jobs" => "任务",
        "Done" => "已完成",
        "built-in" => "内置",
        "video" => "视频",
        "image" => "图像",
        "Cancel" => "取消",
        "more" => "更多",
        "Could not generate" => "无法生成",
        "Nothing to generate: every shot has a take" => "无需生成：每个镜头都已有镜次",
        "jobs queued" => "个任务已排队",
        "Settings" => "设置",
        "Budget" => "预算",
        "Spent" => "已花费",
        "reserved" => "预留",
        "limit" => "上限",
        "none" => "无",
        "Budget limit (USD, empty for none)" => "预算上限（美元，留空表示不限）",
        "Save budget" => "保存预算",
        "Budget saved" => "预算已保存",
        "The budget must be a number of dollars, 0 or more" => "预算必须是不小于 0 的美元金额",
        "Provider keys" => "服务商密钥",
        "Keys are stored encrypted on the server and never shown again." => {
            "密钥加密保存在服务器上，之后不再显示。"
        }
        "key set" => "已设置密钥",
        "not set" => "未设置",
        "Save key" => "保存密钥",
        "Remove" => "删除",
        "Export" => "导出",
        "New project from a novel" => "从小说新建项目",
        "A .txt, .md or .fountain file; chapters become scenes and shots, ready to generate." => {
            "选择 .txt、.md 或 .fountain 文件；章节会拆分为场景和镜头，可直接生成。"
        }
        "Choose a novel file" => "选择小说文件",
        "Importing and breaking down" => "正在导入并拆解",
        "Could not import" => "无法导入",
        // review export
        "Review report (PDF)" => "评审报告（PDF）",
        "Review report (HTML)" => "评审报告（HTML）",
        // review
        "Unresolved" => "未解决",
        "Resolved" => "已解决",
        "Mine" => "我的",
        "Orphaned" => "已失去锚点",
        "orphaned" => "已失去锚点",
        "All threads" => "全部讨论",
        "Review" => "评审",
        "Review: c comments on the selection, ] and [ step through threads, Esc closes" => {
            "评审：c 评论所选内容，] 和 [ 切换讨论，Esc 关闭"
        }
        "Keys: c comments on the selection, ] next thread, [ previous, Esc closes" => {
            "快捷键：c 评论所选内容，] 下一条讨论，[ 上一条，Esc 关闭"
        }
        "Version under review" => "评审的版本",
        "Comment on the project" => "评论整个项目",
        "Comment on this shot" => "评论此镜头",
        "Comment on the selected text (c)" => "评论所选文字（c）",
        "Comments on this line" => "此行的评论",
        "Comment" => "评论",
        "New comment on" => "新评论：",
        "No threads here" => "这里没有讨论",
        "Project" => "项目",
        "Resolve" => "标记为已解决",
        "Reopen" => "重新打开",
        "Edit" => "编辑",
        "Delete" => "删除",
        "Save" => "保存",
        "Send" => "发送",
        "edited" => "已编辑",
        "deleted" => "已删除",
        "pending" => "待发送",
        "just now" => "刚刚",
        "min ago" => "分钟前",
        "h ago" => "小时前",
        "d ago" => "天前",
        "Write a comment; @ mentions someone" => "写评论；输入 @ 提及他人",
        "changed since review" => "评审后已修改",
        "Approve" => "通过",
        "Request changes" => "要求修改",
        "Summary" => "总结",
        "Give verdict" => "提交评审意见",
        "Reviewing" => "正在评审",
        "Stop reviewing" => "结束评审",
        "stale for" => "已过时：",
        "shots changed since" => "个镜头之后有修改",
        "Your name, as others will see it beside your comments" => {
            "你的名字（其他人会在你的评论旁看到）"
        }
        "Join" => "加入",
        "Not now" => "暂不",
        "This link was revoked by the project's owner" => "此链接已被项目所有者撤销",
        "Label" => "标签",
        "For a person (optional name)" => "发给某人（可选姓名）",
        "Expires after" => "有效期",
        "1 day" => "1 天",
        "7 days" => "7 天",
        "30 days" => "30 天",
        "1 year" => "1 年",
        "Version to review" => "要评审的版本",
        "Choose a version" => "选择版本",
        "Share for review" => "分享以供评审",
        "Links" => "链接",
        "Role" => "角色",
        "Person" => "人员",
        "Expires" => "到期",
        "Last used" => "最近使用",
        "Revoke" => "撤销",
        "revoked" => "已撤销",
        "never" => "永不",
        "review" => "评审",
        "owner" => "所有者",
        "editor" => "编辑者",
        "commenter" => "评论者",
        "viewer" => "查看者",
        // review end
        other => other,
    }
}
