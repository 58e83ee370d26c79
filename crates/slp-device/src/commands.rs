//! The one IOS command table, shared by `slp device exec` and the interactive `shell`.
//!
//! Each command is one line of the table: the modes it is valid in, its syntax, and the
//! [`Action`] it runs. Syntax words are keywords (matched by unique prefix, as IOS does),
//! `{a|b}` choices, `<min-max>` numbers, `WORD` (one word) or `LINE` (the rest of the line).
//! `?` help, `% Invalid input` carets and `% Incomplete command.` all come from this table.

use slp_core::ledger::Selection;

use crate::agent::{DEFAULT_CALLHOME_URL, DEFAULT_CSLU_URL, DEFAULT_SMART_URL, Device};
use crate::state::Transport;
use crate::{DeviceError, show};

/// CLI modes and their prompts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `sw1>`
    User,
    /// `sw1#`
    Exec,
    /// `sw1(config)#`
    Config,
    /// `sw1(config-if)#`
    ConfigIf,
    /// `sw1(cfg-call-home)#` (the guide prints both `config-call-home` and `cfg-call-home`;
    /// a real device's prompt is the latter).
    CallHome,
    /// `sw1(cfg-call-home-profile)#`
    CallHomeProfile,
    /// `sw1(ca-trustpoint)#`
    CaTrustpoint,
    /// `sw1(config-line)#` (`line vty 0 4`, `line console 0`)
    ConfigLine,
}

/// What a matched command does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    Enable,
    Disable,
    ConfigureTerminal,
    Exit,
    End,
    ShowSummary,
    ShowUsage,
    ShowStatus,
    ShowAll,
    ShowReservation,
    NoReservation,
    ShowUdi,
    ShowAuthorization,
    ShowRumAll,
    ShowRumOne,
    ShowRumDetail,
    ShowEventlog,
    ShowEventlogDays,
    ShowHistory,
    ShowTechSupport,
    ShowVersion,
    ShowRunning,
    ShowClock,
    ShowLogging,
    CopyRunStart,
    Reload,
    SaveUsageAll,
    SaveUsageUnreported,
    SaveUsageDays,
    SaveUsageRumId,
    Import,
    FactoryReset,
    AuthRequest,
    AuthRequestSave,
    AuthReturnOffline,
    AuthReturnOffline2,
    AuthReturnOnline,
    TrustIdToken,
    TrustIdTokenForce,
    Sync,
    HsecRelease,
    WanmacsecRelease,
    Switchover,
    StackAdd,
    StackRemove,
    BootLevel,
    NoBootLevel,
    Transport,
    NoTransport,
    UrlCslu,
    NoUrlCslu,
    UrlSmart,
    NoUrlSmart,
    UrlCallhome,
    NoUrlCallhome,
    UrlDefault,
    ProxyAddress,
    ProxyPort,
    NoProxy,
    UsageInterval,
    NoUsageInterval,
    Privacy,
    NoPrivacy,
    Hostname,
    Username,
    UsernameSecret9,
    NoUsername,
    Interface,
    NoInterface,
    TunnelIpsec,
    NoTunnelIpsec,
    /// A command of [`crate::config::TABLE`].
    Settings(crate::config::Cmd),
    /// A command of [`crate::config::mgmt::TABLE`] (the management plane).
    Mgmt(crate::config::mgmt::Cmd),
}

use Mode::{CaTrustpoint, CallHome, CallHomeProfile, Config, ConfigIf, ConfigLine, Exec, User};

const PRIV: &[Mode] = &[Exec];
const SHOW: &[Mode] = &[User, Exec];
const CONF: &[Mode] = &[Config];
const ANY_CONF: &[Mode] = &[Config, ConfigIf];
/// Every configuration mode, sub-modes included.
const ALL_CONF: &[Mode] = &[Config, ConfigIf, CallHome, CallHomeProfile, CaTrustpoint, ConfigLine];

const TABLE: &[(&[Mode], &str, Action)] = &[
    (&[User], "enable", Action::Enable),
    (PRIV, "disable", Action::Disable),
    (PRIV, "configure terminal", Action::ConfigureTerminal),
    (
        &[User, Exec, Config, ConfigIf, CallHome, CallHomeProfile, CaTrustpoint, ConfigLine],
        "exit",
        Action::Exit,
    ),
    (ALL_CONF, "end", Action::End),
    (SHOW, "show license summary", Action::ShowSummary),
    (SHOW, "show license usage", Action::ShowUsage),
    (SHOW, "show license status", Action::ShowStatus),
    (SHOW, "show license all", Action::ShowAll),
    (SHOW, "show license reservation", Action::ShowReservation),
    (SHOW, "show license udi", Action::ShowUdi),
    (SHOW, "show license authorization", Action::ShowAuthorization),
    (SHOW, "show license rum id all", Action::ShowRumAll),
    (SHOW, "show license rum id <1-18446744073709551615>", Action::ShowRumOne),
    (SHOW, "show license rum id <1-18446744073709551615> detail", Action::ShowRumDetail),
    (SHOW, "show license eventlog", Action::ShowEventlog),
    (SHOW, "show license eventlog <0-2147483647>", Action::ShowEventlogDays),
    (SHOW, "show license history message", Action::ShowHistory),
    (SHOW, "show license tech support", Action::ShowTechSupport),
    (SHOW, "show version", Action::ShowVersion),
    (SHOW, "show clock", Action::ShowClock),
    (SHOW, "show logging", Action::ShowLogging),
    (PRIV, "show running-config", Action::ShowRunning),
    (PRIV, "copy running-config startup-config", Action::CopyRunStart),
    (PRIV, "write memory", Action::CopyRunStart),
    (PRIV, "write", Action::CopyRunStart),
    (PRIV, "reload", Action::Reload),
    (PRIV, "license smart save usage all file WORD", Action::SaveUsageAll),
    (PRIV, "license smart save usage unreported file WORD", Action::SaveUsageUnreported),
    (PRIV, "license smart save usage days <1-3650> file WORD", Action::SaveUsageDays),
    (
        PRIV,
        "license smart save usage rum-id <1-18446744073709551615> file WORD",
        Action::SaveUsageRumId,
    ),
    (PRIV, "license smart import WORD", Action::Import),
    (PRIV, "license smart factory reset", Action::FactoryReset),
    (
        PRIV,
        "license smart authorization request {add|replace} WORD {all|local}",
        Action::AuthRequest,
    ),
    (PRIV, "license smart authorization request save WORD", Action::AuthRequestSave),
    (PRIV, "license smart authorization return {all|local} offline", Action::AuthReturnOffline),
    (
        PRIV,
        "license smart authorization return {all|local} offline WORD",
        Action::AuthReturnOffline2,
    ),
    (PRIV, "license smart authorization return {all|local} online", Action::AuthReturnOnline),
    (CONF, "no license smart reservation", Action::NoReservation),
    (PRIV, "license smart trust idtoken WORD {all|local}", Action::TrustIdToken),
    (PRIV, "license smart trust idtoken WORD {all|local} force", Action::TrustIdTokenForce),
    (PRIV, "license smart sync {all|local}", Action::Sync),
    (PRIV, "redundancy force-switchover", Action::Switchover),
    (PRIV, "test platform stack add {standby|member} WORD", Action::StackAdd),
    (PRIV, "test platform stack remove WORD", Action::StackRemove),
    // The guide's combinations only: each base level with its own add-on, or alone.
    (CONF, "license boot level {network-advantage}", Action::BootLevel),
    (CONF, "license boot level {network-advantage} addon {dna-advantage}", Action::BootLevel),
    (CONF, "license boot level {network-essentials}", Action::BootLevel),
    (CONF, "license boot level {network-essentials} addon {dna-essentials}", Action::BootLevel),
    (CONF, "no license boot level", Action::NoBootLevel),
    // Global configuration commands, where the guide shows them (`Device(config)#`), on the
    // platforms whose cryptographic feature uses the HSECK9 key.
    (CONF, "platform hsec-license-release", Action::HsecRelease),
    (CONF, "platform wanmacsec hsec-license-release", Action::WanmacsecRelease),
    (CONF, "license smart transport {automatic|callhome|cslu|off|smart}", Action::Transport),
    (CONF, "no license smart transport", Action::NoTransport),
    (CONF, "license smart url cslu WORD", Action::UrlCslu),
    (CONF, "no license smart url cslu", Action::NoUrlCslu),
    (CONF, "license smart url smart WORD", Action::UrlSmart),
    (CONF, "no license smart url smart", Action::NoUrlSmart),
    (CONF, "license smart url default", Action::UrlDefault),
    (CONF, "license smart url WORD", Action::UrlCallhome),
    (CONF, "no license smart url", Action::NoUrlCallhome),
    (CONF, "license smart proxy address WORD", Action::ProxyAddress),
    (CONF, "license smart proxy port <1-65535>", Action::ProxyPort),
    (CONF, "no license smart proxy", Action::NoProxy),
    (CONF, "license smart usage interval <0-3650>", Action::UsageInterval),
    (CONF, "no license smart usage interval", Action::NoUsageInterval),
    (CONF, "license smart privacy {all|hostname|version}", Action::Privacy),
    (CONF, "no license smart privacy {all|hostname|version}", Action::NoPrivacy),
    (CONF, "hostname WORD", Action::Hostname),
    (CONF, "username WORD privilege <15-15> password WORD", Action::Username),
    (CONF, "username WORD privilege <15-15> password <0-0> WORD", Action::Username),
    (CONF, "username WORD privilege <15-15> secret WORD", Action::Username),
    (CONF, "username WORD privilege <15-15> secret <0-0> WORD", Action::Username),
    (CONF, "username WORD privilege <15-15> secret <9-9> WORD", Action::UsernameSecret9),
    (CONF, "no username WORD", Action::NoUsername),
    (ANY_CONF, "interface WORD", Action::Interface),
    (CONF, "no interface WORD", Action::NoInterface),
    (&[ConfigIf], "tunnel mode ipsec ipv4", Action::TunnelIpsec),
    (&[ConfigIf], "no tunnel mode ipsec ipv4", Action::NoTunnelIpsec),
];

/// Every command: this module's table, then [`crate::config::TABLE`].
pub(crate) fn table() -> impl Iterator<Item = (&'static [Mode], &'static str, Action)> {
    TABLE
        .iter()
        .copied()
        .chain(
            crate::config::TABLE
                .iter()
                .map(|(modes, syntax, cmd)| (*modes, *syntax, Action::Settings(*cmd))),
        )
        .chain(
            crate::config::mgmt::TABLE
                .iter()
                .map(|(modes, syntax, cmd)| (*modes, *syntax, Action::Mgmt(*cmd))),
        )
}

/// The keywords before word `depth` of a command (what `?` help is in the context of);
/// a choice counts as its own words' context, an argument as `WORD`.
pub(crate) fn keywords(toks: &[Tok], depth: usize) -> Vec<&'static str> {
    toks.iter()
        .take(depth)
        .map(|tok| match tok {
            Tok::Kw(kw) => *kw,
            Tok::Choice(_) => "{choice}",
            Tok::Num(_, _, label) => *label,
            Tok::Word => "WORD",
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    Kw(&'static str),
    Choice(Vec<&'static str>),
    Num(u64, u64, &'static str),
    Word,
}

pub(crate) fn tokens(syntax: &'static str) -> Vec<Tok> {
    syntax
        .split(' ')
        .map(|word| {
            if let Some(inner) = word.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
                Tok::Choice(inner.split('|').collect())
            } else if let Some(range) = word.strip_prefix('<').and_then(|w| w.strip_suffix('>')) {
                let (min, max) = range.split_once('-').unwrap_or(("0", "0"));
                Tok::Num(min.parse().unwrap_or(0), max.parse().unwrap_or(u64::MAX), word)
            } else if word == "WORD" {
                Tok::Word
            } else {
                Tok::Kw(word)
            }
        })
        .collect()
}

/// The result of matching words against one command: how far it got and the arguments.
struct Attempt {
    depth: usize,
    complete: bool,
    exact_keywords: usize,
    args: Vec<String>,
}

fn attempt(toks: &[Tok], words: &[&str]) -> Attempt {
    let mut args = Vec::new();
    let mut exact = 0;
    for (idx, tok) in toks.iter().enumerate() {
        let Some(word) = words.get(idx) else {
            return Attempt { depth: idx, complete: false, exact_keywords: exact, args };
        };
        let lower = word.to_ascii_lowercase();
        let ok = match tok {
            Tok::Kw(kw) => {
                exact += usize::from(*kw == lower);
                kw.starts_with(&lower)
            }
            Tok::Choice(options) => {
                let hits: Vec<&&str> = options.iter().filter(|o| o.starts_with(&lower)).collect();
                let chosen = options.iter().find(|o| **o == lower).or(if hits.len() == 1 {
                    Some(hits[0])
                } else {
                    None
                });
                match chosen {
                    Some(option) => {
                        exact += usize::from(*option == lower);
                        args.push((*option).to_owned());
                        true
                    }
                    None => false,
                }
            }
            Tok::Num(min, max, _) => match word.parse::<u64>() {
                Ok(n) if n >= *min && n <= *max => {
                    args.push(n.to_string());
                    true
                }
                _ => false,
            },
            Tok::Word => {
                args.push((*word).to_owned());
                true
            }
        };
        if !ok {
            return Attempt { depth: idx, complete: false, exact_keywords: exact, args };
        }
    }
    let complete = words.len() == toks.len();
    Attempt { depth: toks.len().min(words.len()), complete, exact_keywords: exact, args }
}

impl Mode {
    /// The mode's name on the wire (`slp device run`'s exec endpoint).
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::User => "user",
            Mode::Exec => "exec",
            Mode::Config => "config",
            Mode::ConfigIf => "config-if",
            Mode::CallHome => "cfg-call-home",
            Mode::CallHomeProfile => "cfg-call-home-profile",
            Mode::CaTrustpoint => "ca-trustpoint",
            Mode::ConfigLine => "config-line",
        }
    }

    pub fn parse(text: &str) -> Option<Mode> {
        [
            Mode::User,
            Mode::Exec,
            Mode::Config,
            Mode::ConfigIf,
            Mode::CallHome,
            Mode::CallHomeProfile,
            Mode::CaTrustpoint,
            Mode::ConfigLine,
        ]
        .into_iter()
        .find(|mode| mode.as_str() == text)
    }
}

/// An interactive or scripted CLI session on one device.
pub struct Session {
    pub device: Device,
    pub mode: Mode,
    /// The interface being configured in `(config-if)` mode, or the object of another
    /// sub-mode: the Call Home profile (`cfg-call-home-profile`), the trustpoint
    /// (`ca-trustpoint`).
    pub interface: Option<String>,
}

/// What a command line needs: it ran, or it talks to the peer, which the caller drives
/// ([`Device::converse`], or step by step) and hands to [`Session::finish`].
#[derive(Debug)]
pub enum Step {
    Done(Output),
    Converse(crate::agent::Conversation),
}

/// What one command line produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub text: String,
    /// False when the command was refused or not understood.
    pub ok: bool,
}

impl Output {
    fn ok(text: impl Into<String>) -> Output {
        Output { text: text.into(), ok: true }
    }
    fn err(text: impl Into<String>) -> Output {
        Output { text: text.into(), ok: false }
    }
}

impl Session {
    pub fn new(device: Device, mode: Mode) -> Session {
        Session { device, mode, interface: None }
    }

    pub fn prompt(&self) -> String {
        let host = self.device.state.hostname();
        match self.mode {
            Mode::User => format!("{host}>"),
            Mode::Exec => format!("{host}#"),
            Mode::Config => format!("{host}(config)#"),
            Mode::ConfigIf => format!("{host}(config-if)#"),
            Mode::CallHome => format!("{host}(cfg-call-home)#"),
            Mode::CallHomeProfile => format!("{host}(cfg-call-home-profile)#"),
            Mode::CaTrustpoint => format!("{host}(ca-trustpoint)#"),
            Mode::ConfigLine => format!("{host}(config-line)#"),
        }
    }

    fn candidates(&self) -> impl Iterator<Item = (Vec<Tok>, Action)> + '_ {
        table()
            .filter(|(modes, _, action)| modes.contains(&self.mode) && self.available(*action))
            .map(|(_, syntax, action)| (tokens(syntax), action))
    }

    /// Whether this platform has the command: the HSECK9 release commands exist only where
    /// the key is offered, each for its platform's cryptographic feature.
    fn available(&self, action: Action) -> bool {
        let feature = crate::platform::hsec_feature(&self.device.state.active().udi.pid);
        match action {
            Action::HsecRelease => feature == Some(crate::platform::CryptoFeature::Ipsec),
            Action::WanmacsecRelease => feature == Some(crate::platform::CryptoFeature::WanMacsec),
            _ => true,
        }
    }

    /// `?` help for a line ending in `?`.
    pub fn help(&self, line: &str) -> String {
        let before = line.trim_end_matches('?');
        let words: Vec<&str> = before.split_whitespace().collect();
        // A word is being completed when the line does not end in whitespace (a tab counts:
        // "\t?" once indexed before the first word and panicked the shell).
        let partial = !before.ends_with(char::is_whitespace) && !words.is_empty();
        let (done, prefix) = if partial {
            (&words[..words.len() - 1], words.last().copied().unwrap_or(""))
        } else {
            (&words[..], "")
        };
        let mut entries: Vec<(String, &'static str)> = Vec::new();
        let mut can_end = false;
        for (toks, _) in self.candidates() {
            let tried = attempt(&toks, done);
            if tried.depth < done.len() || (!done.is_empty() && tried.depth != done.len()) {
                continue;
            }
            match toks.get(done.len()) {
                None => can_end = true,
                Some(Tok::Kw(kw)) if kw.starts_with(&prefix.to_ascii_lowercase()) => entries
                    .push(((*kw).to_owned(), crate::help::text(&keywords(&toks, done.len()), kw))),
                Some(Tok::Choice(options)) => {
                    let path = keywords(&toks, done.len());
                    for option in
                        options.iter().filter(|o| o.starts_with(&prefix.to_ascii_lowercase()))
                    {
                        entries.push(((*option).to_owned(), crate::help::text(&path, option)));
                    }
                }
                Some(Tok::Num(_, _, label)) if !partial => entries
                    .push(((*label).to_owned(), crate::help::number(&keywords(&toks, done.len())))),
                Some(Tok::Word) if !partial => entries
                    .push(("WORD".to_owned(), crate::help::argument(&keywords(&toks, done.len())))),
                Some(_) => {}
            }
        }
        entries.sort();
        entries.dedup();
        let mut out = String::new();
        if partial {
            let names: Vec<String> = entries.iter().map(|(n, _)| n.clone()).collect();
            out.push_str(&names.join("  "));
            out.push('\n');
        } else {
            let width = entries.iter().map(|(n, _)| n.len()).max().unwrap_or(0).max(10);
            for (name, text) in &entries {
                out.push_str(&format!("  {name:<width$}  {text}\n"));
            }
            if can_end {
                out.push_str("  <cr>\n");
            }
        }
        if entries.is_empty() && !can_end {
            return "% Unrecognized command\n".to_owned();
        }
        out
    }

    /// Runs one command line; state is saved after every command that succeeds.
    pub fn execute(&mut self, line: &str) -> Output {
        match self.begin(line) {
            Step::Done(output) => output,
            Step::Converse(conversation) => {
                let uplink = self.device.http_uplink();
                let result = self.device.converse(conversation, &uplink);
                self.finish(result)
            }
        }
    }

    /// The end of a command that talked to the peer: its output, and the state saved.
    pub fn finish(&mut self, result: Result<Vec<String>, DeviceError>) -> Output {
        let output = output_of(result.map(lines));
        self.saved(output)
    }

    fn saved(&mut self, output: Output) -> Output {
        if output.ok
            && let Err(err) = self.device.save()
        {
            return Output::err(format!("% Error saving device state: {err}\n"));
        }
        output
    }

    /// Runs one command line up to the point where it would talk to the peer.
    pub fn begin(&mut self, line: &str) -> Step {
        // The device has been running until now: reminders that fell due meanwhile are logged.
        self.device.remind_overdue();
        let line = line.trim_end();
        if line.trim().is_empty() || line.trim_start().starts_with('!') {
            return Step::Done(Output::ok(""));
        }
        if line.ends_with('?') {
            return Step::Done(Output::ok(self.help(line)));
        }
        if let Some((command, modifier)) = show::split_pipe(line) {
            return Step::Done(self.piped(command, modifier));
        }
        // A release before Smart Licensing Using Policy answers its own licensing commands.
        if let Some(result) = crate::migration::pre_slp_command(&mut self.device, line) {
            let output = output_of(result);
            return Step::Done(self.saved(output));
        }
        let parsed = match self.parse(line) {
            // A global configuration command typed in a sub-mode runs there and leaves the
            // sub-mode, as on IOS (`license smart transport callhome` after `call-home`).
            Err(output) if self.in_submode() => {
                let mode = self.mode;
                self.mode = Mode::Config;
                let global = self.parse(line);
                if global.is_ok() {
                    self.interface = None;
                } else {
                    self.mode = mode;
                }
                global.map_err(|_| output)
            }
            parsed => parsed,
        };
        Step::Done(match parsed {
            Ok((action, args)) => {
                let conversation = match action {
                    Action::Sync => Some(crate::migration::begin_sync(&mut self.device)),
                    Action::TrustIdToken | Action::TrustIdTokenForce => {
                        let arg = |idx: usize| args.get(idx).cloned().unwrap_or_default();
                        let force = action == Action::TrustIdTokenForce;
                        Some(self.device.begin_trust_idtoken(&arg(0), arg(1) == "all", force))
                    }
                    Action::AuthReturnOnline => {
                        Some(self.device.begin_authorization_return_online(
                            args.first().is_some_and(|a| a == "all"),
                        ))
                    }
                    _ => None,
                };
                match conversation {
                    Some(Ok(conversation)) => return Step::Converse(conversation),
                    Some(Err(err)) => output_of(Err(err)),
                    None => {
                        let output = self.run(action, &args);
                        self.saved(output)
                    }
                }
            }
            Err(output) => output,
        })
    }

    fn in_submode(&self) -> bool {
        matches!(
            self.mode,
            Mode::ConfigIf
                | Mode::CallHome
                | Mode::CallHomeProfile
                | Mode::CaTrustpoint
                | Mode::ConfigLine
        )
    }

    /// A show command with an output modifier (`| include`, `| exclude`, `| section`, `| begin`).
    fn piped(&mut self, command: &str, modifier: &str) -> Output {
        let filter = match show::OutputFilter::parse(modifier) {
            Ok(filter) => filter,
            Err(err) => return Output::err(format!("{err}\n")),
        };
        match self.begin(command) {
            Step::Done(output) if output.ok => Output::ok(filter.apply(&output.text)),
            Step::Done(output) => output,
            Step::Converse(_) => Output::err("% Output modifiers apply to show commands only\n"),
        }
    }

    /// The command a line names and its arguments, or the output that says what is wrong.
    fn parse(&self, line: &str) -> Result<(Action, Vec<String>), Output> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let mut best_depth = 0;
        let mut matches: Vec<(Attempt, Action)> = Vec::new();
        for (toks, action) in self.candidates() {
            let tried = attempt(&toks, &words);
            best_depth = best_depth.max(tried.depth);
            if tried.complete {
                matches.push((tried, action));
            }
        }
        if matches.is_empty() {
            if best_depth >= words.len() {
                return Err(Output::err("% Incomplete command.\n"));
            }
            return Err(Output::err(self.caret(line, best_depth)));
        }
        matches.sort_by_key(|(tried, _)| std::cmp::Reverse(tried.exact_keywords));
        // Two commands, or one command with two readings (`license boot level n`).
        if matches.len() > 1
            && matches[0].0.exact_keywords == matches[1].0.exact_keywords
            && (matches[0].1 != matches[1].1 || matches[0].0.args != matches[1].0.args)
        {
            return Err(Output::err(format!("% Ambiguous command:  \"{line}\"\n")));
        }
        let (tried, action) = matches.swap_remove(0);
        Ok((action, tried.args))
    }

    /// The caret line under the first word no command accepts (the typed line is already on screen).
    fn caret(&self, line: &str, word_idx: usize) -> String {
        // Column of the bad word in the line as typed.
        let mut col = 0;
        let mut seen = 0;
        let mut in_word = false;
        for (idx, ch) in line.char_indices() {
            if !ch.is_whitespace() && !in_word {
                if seen == word_idx {
                    col = idx;
                    break;
                }
                seen += 1;
            }
            in_word = !ch.is_whitespace();
            col = idx + 1;
        }
        let prompt = self.prompt();
        format!("{}^\n% Invalid input detected at '^' marker.\n", " ".repeat(prompt.len() + col))
    }

    fn run(&mut self, action: Action, args: &[String]) -> Output {
        output_of(self.dispatch(action, args))
    }

    fn dispatch(&mut self, action: Action, args: &[String]) -> Result<String, DeviceError> {
        let arg = |idx: usize| args.get(idx).cloned().unwrap_or_default();
        let num = |idx: usize| args.get(idx).and_then(|a| a.parse::<u64>().ok()).unwrap_or(0);
        let device = &mut self.device;
        let text = match action {
            Action::Enable => {
                self.mode = Mode::Exec;
                String::new()
            }
            Action::Disable => {
                self.mode = Mode::User;
                String::new()
            }
            Action::ConfigureTerminal => {
                self.mode = Mode::Config;
                "Enter configuration commands, one per line.  End with CNTL/Z.\n".to_owned()
            }
            Action::Exit => {
                self.mode = match self.mode {
                    Mode::ConfigIf | Mode::CallHome | Mode::CaTrustpoint | Mode::ConfigLine => {
                        Mode::Config
                    }
                    Mode::CallHomeProfile => Mode::CallHome,
                    Mode::Config => Mode::Exec,
                    other => other,
                };
                self.interface = None;
                String::new()
            }
            Action::End => {
                self.mode = Mode::Exec;
                self.interface = None;
                String::new()
            }
            Action::ShowSummary => show::summary(device),
            Action::ShowUsage => show::usage(device),
            Action::ShowStatus => show::status(device),
            Action::ShowAll => show::all(device),
            // The guide's SLR example after migration: the same report as `show license all`.
            Action::ShowReservation => show::all(device),
            Action::ShowUdi => show::udi(device),
            Action::ShowAuthorization => show::authorization(device),
            Action::ShowRumAll => show::rum_all(device),
            Action::ShowRumOne => show::rum_one(device, num(0))?,
            Action::ShowRumDetail => show::rum_detail(device, num(0))?,
            Action::ShowEventlog => show::eventlog(device, None),
            Action::ShowEventlogDays => show::eventlog(device, Some(num(0))),
            Action::ShowHistory => show::history(device),
            Action::ShowTechSupport => show::tech_support(device),
            Action::ShowVersion => show::version(device),
            Action::ShowRunning => show::running_config(device),
            Action::ShowClock => show::clock(device),
            Action::ShowLogging => show::logging(device),
            Action::CopyRunStart => {
                device.state.startup = device.state.running.clone();
                "Building configuration...\n[OK]\n".to_owned()
            }
            Action::Reload => {
                device.reload();
                self.mode = Mode::Exec;
                String::new()
            }
            Action::SaveUsageAll => saved(device.save_usage(Selection::All, &arg(0))?),
            Action::SaveUsageUnreported => {
                saved(device.save_usage(Selection::Unreported, &arg(0))?)
            }
            Action::SaveUsageDays => {
                let days = u32::try_from(num(0)).unwrap_or(u32::MAX);
                saved(device.save_usage(Selection::Days(days), &arg(1))?)
            }
            Action::SaveUsageRumId => {
                saved(device.save_usage(Selection::ReportId(num(0)), &arg(1))?)
            }
            Action::Import => lines(device.import(&arg(0))?),
            Action::FactoryReset => lines(device.factory_reset()?),
            Action::AuthRequest => {
                device.authorization_request(arg(0) == "replace", &arg(1), arg(2) == "all")?;
                String::new()
            }
            Action::AuthRequestSave => {
                device.authorization_request_save(&arg(0))?;
                String::new()
            }
            // Without a path the return code is shown on screen, to enter in the portal.
            Action::AuthReturnOffline => {
                match crate::migration::slr_return(device, arg(0) == "all") {
                    // A migrated SLR code (no SLAC on the units): its return code on screen.
                    Some(returned) => lines(returned?),
                    None => lines(device.authorization_return_on_screen(arg(0) == "all")?),
                }
            }
            Action::NoReservation => crate::migration::no_reservation(device),
            Action::AuthReturnOffline2 => {
                lines(device.authorization_return_offline(arg(0) == "all", &arg(1))?)
            }
            // `begin` hands these to the caller, which talks to the peer.
            Action::Sync
            | Action::TrustIdToken
            | Action::TrustIdTokenForce
            | Action::AuthReturnOnline => {
                return Err(DeviceError::Refused(
                    "% Error: this command talks to the peer; run it through Session::begin"
                        .to_owned(),
                ));
            }
            Action::Switchover => format!("{}\n", device.switchover()?),
            Action::StackAdd => {
                let role = if arg(0) == "standby" {
                    slp_core::udi::HaRole::Standby
                } else {
                    slp_core::udi::HaRole::Member
                };
                let udi: slp_core::udi::Udi = arg(1).parse()?;
                device.add_unit(role, udi)?;
                String::new()
            }
            Action::StackRemove => {
                let udi: slp_core::udi::Udi = arg(0).parse()?;
                device.remove_unit(&udi)?;
                String::new()
            }
            Action::HsecRelease | Action::WanmacsecRelease => {
                device.hsec_release()?;
                "HSEC license is released\n".to_owned()
            }
            // `license boot level <base> [addon <add-on>]`.
            Action::BootLevel => {
                device.check_boot_level(&arg(0), args.get(1).map(String::as_str))?;
                device.state.running.boot_level = Some(arg(0));
                device.state.running.boot_addon = args.get(1).cloned();
                boot_note()
            }
            Action::NoBootLevel => {
                device.state.running.boot_level = Some(device.default_boot_level());
                device.state.running.boot_addon = None;
                boot_note()
            }
            Action::Transport => {
                device.state.running.transport = match arg(0).as_str() {
                    // "automatic: Sets the transport mode cslu."
                    "automatic" => Transport::Cslu,
                    "callhome" => Transport::Callhome,
                    "off" => Transport::Off,
                    "smart" => Transport::Smart,
                    _ => Transport::Cslu,
                };
                String::new()
            }
            Action::NoTransport => {
                device.state.running.transport = Transport::Cslu;
                String::new()
            }
            Action::UrlCslu => {
                device.state.running.url_cslu = Some(arg(0));
                String::new()
            }
            Action::NoUrlCslu => {
                device.state.running.url_cslu = None;
                String::new()
            }
            Action::UrlSmart => {
                device.state.running.url_smart = Some(arg(0));
                String::new()
            }
            Action::NoUrlSmart => {
                device.state.running.url_smart = None;
                String::new()
            }
            // `license smart url <url>`: the Call Home URL, used with transport callhome.
            Action::UrlCallhome => {
                // `license smart url cslu` (or `smart`, `utility`) without its URL is the other
                // command cut short, not a URL.
                let word = arg(0).to_ascii_lowercase();
                if ["cslu", "smart", "utility"].iter().any(|kw| kw.starts_with(&word)) {
                    return Err(DeviceError::Refused("% Incomplete command.".to_owned()));
                }
                device.state.running.url_callhome = Some(arg(0));
                String::new()
            }
            Action::NoUrlCallhome => {
                device.state.running.url_callhome = None;
                String::new()
            }
            Action::UrlDefault => {
                let running = &mut device.state.running;
                match running.transport {
                    Transport::Cslu => {
                        running.url_cslu = Some(DEFAULT_CSLU_URL.replace("http://", "https://"))
                    }
                    Transport::Callhome => {
                        running.url_callhome = Some(DEFAULT_CALLHOME_URL.to_owned())
                    }
                    _ => running.url_smart = Some(DEFAULT_SMART_URL.to_owned()),
                }
                String::new()
            }
            Action::ProxyAddress => {
                device.state.running.proxy_address = Some(arg(0));
                String::new()
            }
            Action::ProxyPort => {
                device.state.running.proxy_port = u16::try_from(num(0)).ok();
                String::new()
            }
            Action::NoProxy => {
                device.state.running.proxy_address = None;
                device.state.running.proxy_port = None;
                String::new()
            }
            Action::UsageInterval => {
                device.state.running.usage_interval = u32::try_from(num(0)).ok();
                String::new()
            }
            Action::NoUsageInterval => {
                device.state.running.usage_interval = None;
                String::new()
            }
            Action::Privacy | Action::NoPrivacy => {
                let on = action == Action::Privacy;
                let running = &mut device.state.running;
                match arg(0).as_str() {
                    "hostname" => running.privacy_hostname = on,
                    "version" => running.privacy_version = on,
                    _ => {
                        running.privacy_hostname = on;
                        running.privacy_version = on;
                    }
                }
                String::new()
            }
            Action::Hostname => {
                let name = arg(0);
                if name.is_empty()
                    || name.len() > 63
                    || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                {
                    return Err(DeviceError::Refused(format!("% Invalid hostname {name:?}")));
                }
                device.state.running.hostname = name;
                String::new()
            }
            // The password is kept only as its type 9 secret, whichever way it was given.
            Action::Username => {
                let password = args.last().cloned().unwrap_or_default();
                device.state.running.users.insert(arg(0), crate::secret::type9(&password));
                String::new()
            }
            Action::UsernameSecret9 => {
                let secret = args.last().cloned().unwrap_or_default();
                if !crate::secret::is_type9(&secret) {
                    return Err(DeviceError::Refused(
                        "% Invalid encrypted secret: a type 9 secret is $9$, 14 salt characters, $ and 43 characters of ./0-9A-Za-z".to_owned(),
                    ));
                }
                device.state.running.users.insert(arg(0), secret);
                String::new()
            }
            Action::NoUsername => {
                device.state.running.users.remove(&arg(0));
                String::new()
            }
            Action::Interface => {
                let name = tunnel_name(&arg(0))?;
                device.state.running.tunnels.insert(name.clone());
                self.interface = Some(name);
                self.mode = Mode::ConfigIf;
                String::new()
            }
            Action::NoInterface => {
                let name = tunnel_name(&arg(0))?;
                device.state.running.tunnels.remove(&name);
                device.disable_ipsec(&name);
                String::new()
            }
            Action::TunnelIpsec => {
                let name = self.interface.clone().unwrap_or_default();
                self.device.enable_ipsec(&name)?;
                String::new()
            }
            Action::NoTunnelIpsec => {
                let name = self.interface.clone().unwrap_or_default();
                self.device.disable_ipsec(&name);
                String::new()
            }
            Action::Settings(cmd) => {
                let place =
                    crate::config::Place { mode: &mut self.mode, target: &mut self.interface };
                crate::config::run(cmd, args, &mut self.device, place)?
            }
            Action::Mgmt(cmd) => {
                let place =
                    crate::config::Place { mode: &mut self.mode, target: &mut self.interface };
                crate::config::mgmt::run(cmd, args, &mut self.device, place)?
            }
        };
        Ok(text)
    }
}

fn output_of(result: Result<String, DeviceError>) -> Output {
    match result {
        Ok(text) => Output::ok(text),
        Err(DeviceError::Refused(text)) => Output::err(format!("{text}\n")),
        Err(err) => Output::err(format!("% Error: {err}\n")),
    }
}

fn saved(_count: usize) -> String {
    String::new()
}

fn lines(lines: Vec<String>) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

fn boot_note() -> String {
    "% use 'write' command to make license boot config take effect on next boot\n".to_owned()
}

fn tunnel_name(word: &str) -> Result<String, DeviceError> {
    let lower = word.to_ascii_lowercase();
    let digits = lower.trim_start_matches(|c: char| c.is_ascii_alphabetic());
    let prefix = &lower[..lower.len() - digits.len()];
    if !prefix.is_empty()
        && "tunnel".starts_with(prefix)
        && !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit())
    {
        Ok(format!("Tunnel{digits}"))
    } else {
        Err(DeviceError::Refused(format!(
            "% Invalid interface {word}: slp devices model Tunnel interfaces only"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_match_by_unique_prefix() {
        let toks = tokens("show license summary");
        assert!(attempt(&toks, &["sh", "lic", "sum"]).complete);
        assert!(!attempt(&toks, &["sh", "lic", "sux"]).complete);
        assert_eq!(attempt(&toks, &["sh", "lic", "sux"]).depth, 2);
        let toks = tokens("license smart transport {automatic|callhome|cslu|off|smart}");
        let tried = attempt(&toks, &["license", "smart", "transport", "of"]);
        assert!(tried.complete);
        assert_eq!(tried.args, vec!["off"]);
        // "c" is ambiguous between callhome and cslu.
        assert!(!attempt(&toks, &["license", "smart", "transport", "c"]).complete);
        let toks = tokens("license smart usage interval <0-3650>");
        assert!(attempt(&toks, &["license", "smart", "usage", "interval", "3650"]).complete);
        assert!(!attempt(&toks, &["license", "smart", "usage", "interval", "3651"]).complete);
    }

    /// Found by the `device_cli` fuzz target: `?` after a tab (no word before it) panicked.
    #[test]
    fn help_after_a_tab_or_nothing_lists_the_commands() {
        let dir = tempfile::tempdir().unwrap();
        let options = crate::agent::InitOptions {
            pid: "C9300-24UX".to_owned(),
            sn: "FOC1".to_owned(),
            hostname: "sw1".to_owned(),
            version: "17.9.4".to_owned(),
            standby: vec![],
            members: vec![],
            boot_level: "network-advantage".to_owned(),
            factory_trust: false,
            authority_key: None,
        };
        let now = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap().to_utc();
        let device = Device::init(crate::state::StateDir::new(dir.path()), &options, now).unwrap();
        let mut session = Session::new(device, Mode::User);
        for line in ["\t?", " \t?", "?", "\t \t?"] {
            let help = session.help(line);
            assert!(help.contains("show") && help.contains("enable"), "{line:?}: {help}");
            let out = session.execute(line);
            assert!(out.ok && out.text.contains("show"), "{line:?}: {}", out.text);
        }
        // After a word and a tab, the next words of that command.
        let help = session.help("show\t?");
        assert!(help.contains("license"), "{help}");
    }
}
