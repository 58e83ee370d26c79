//! `slp device` command line: `init`, `exec` and the interactive `shell`.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Subcommand};
use slp_clock::Clock;
use slp_core::udi::Udi;

use crate::agent::{Device, InitOptions};
use crate::commands::{Mode, Session};
use crate::state::StateDir;

/// Arguments of `slp device`.
#[derive(Debug, Args)]
pub struct DeviceArgs {
    /// The device's state directory (state.json and the bootflash: folder).
    #[arg(long, value_name = "DIR")]
    pub state: PathBuf,
    #[command(subcommand)]
    pub command: DeviceCommand,
}

#[derive(Debug, Subcommand)]
pub enum DeviceCommand {
    /// Create a product instance: its UDI(s), hostname, software version and device key.
    Init {
        /// Product id, e.g. C9300-24UX.
        #[arg(long)]
        pid: String,
        /// Serial number, e.g. FOC2233A5ZV.
        #[arg(long)]
        sn: String,
        #[arg(long, default_value = "Switch")]
        hostname: String,
        /// IOS-XE version, e.g. 17.9.4.
        #[arg(long, default_value = "17.9.4")]
        version: String,
        /// A standby unit, as PID:<pid>,SN:<sn> (HA).
        #[arg(long, value_name = "UDI")]
        standby: Vec<String>,
        /// A stack member, as PID:<pid>,SN:<sn>; repeat for several.
        #[arg(long, value_name = "UDI")]
        member: Vec<String>,
        /// The license boot level in effect at first boot.
        #[arg(long, default_value = "network-essentials")]
        boot_level: String,
        /// Start with a factory-installed trust code (it cannot be used to communicate).
        #[arg(long)]
        factory_trust: bool,
    },
    /// Run IOS commands in privileged EXEC mode, one argument per command line.
    Exec {
        /// Command lines, e.g. "show license summary" "configure terminal" "license smart transport off" "end".
        #[arg(required = true)]
        commands: Vec<String>,
    },
    /// An interactive IOS-style shell (prompts sw1>, sw1#, sw1(config)#; `?` for help).
    Shell,
}

fn parse_udis(list: &[String]) -> anyhow::Result<Vec<Udi>> {
    list.iter().map(|text| text.parse::<Udi>().map_err(anyhow::Error::from)).collect()
}

pub fn run(args: DeviceArgs, clock: Arc<dyn Clock>) -> anyhow::Result<ExitCode> {
    let dir = StateDir::new(args.state.clone());
    match args.command {
        DeviceCommand::Init {
            pid,
            sn,
            hostname,
            version,
            standby,
            member,
            boot_level,
            factory_trust,
        } => {
            let options = InitOptions {
                pid,
                sn,
                hostname,
                version,
                standby: parse_udis(&standby).context("--standby")?,
                members: parse_udis(&member).context("--member")?,
                boot_level,
                factory_trust,
            };
            let device = Device::init(dir, &options, clock.now())?;
            let udis: Vec<String> = device
                .state
                .units
                .iter()
                .map(|u| format!("{} {}", u.role.as_str(), u.udi))
                .collect();
            println!(
                "created {} in {} ({})",
                device.state.hostname(),
                args.state.display(),
                udis.join(", ")
            );
            Ok(ExitCode::SUCCESS)
        }
        DeviceCommand::Exec { commands } => {
            let device = Device::open(dir, clock.now())?;
            let mut session = Session::new(device, Mode::Exec);
            let echo = commands.len() > 1;
            let mut failed = false;
            let mut stdout = std::io::stdout().lock();
            for line in &commands {
                if echo {
                    writeln!(stdout, "{}{}", session.prompt(), line)?;
                }
                let prompt = session.prompt();
                let output = session.execute(line);
                if !echo && output.text.contains("% Invalid input") {
                    // The caret points into the command line, so show the line it points into.
                    writeln!(stdout, "{prompt}{line}")?;
                }
                write!(stdout, "{}", output.text)?;
                failed |= !output.ok;
            }
            Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
        }
        DeviceCommand::Shell => {
            let device = Device::open(dir.clone(), clock.now())?;
            let mut session = Session::new(device, Mode::User);
            let stdin = std::io::stdin();
            let mut stdout = std::io::stdout().lock();
            write!(stdout, "{}", session.prompt())?;
            stdout.flush()?;
            for line in stdin.lock().lines() {
                let line = line?;
                // Each line runs at the current time: the device lives as long as the shell.
                session.device.now = clock.now();
                let trimmed = line.trim();
                if session.mode == Mode::User && matches!(trimmed, "exit" | "logout" | "quit") {
                    break;
                }
                if session.mode == Mode::Exec && matches!(trimmed, "exit" | "logout" | "quit") {
                    break;
                }
                let output = session.execute(&line);
                write!(stdout, "{}", output.text)?;
                write!(stdout, "{}", session.prompt())?;
                stdout.flush()?;
            }
            writeln!(stdout)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
